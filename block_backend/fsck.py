"""fsck: check every record's CRC, every object's id, every ref's closure; repair
by compaction (verified objects only; refs are never guessed).

``Fsck`` is a mixin of ``FlashStore``.
"""

import binascii
import hashlib

from block_backend.errors import BadBlock
from block_backend.layout import MAGIC_ALLOC, MAGIC_ERASE, parse_header, parse_summary
from block_backend.records import (OK, T_DELTA, T_OBJ, T_SUM, TORN, all_ff, header_ok, rec_ok,
                                   scan_records)
from portable_core.objects import TAG_COMMIT
from portable_core.snapshot import references
from portable_core.storage import StorageError

SEEN_MAX = 256


class Fsck:
    """Mixin: ``fsck``."""

    def fsck(self, repair=False):
        """Check every record's CRC, every object's id, every ref's reachability.

        Returns a dict: ``records``, ``objects``, ``damaged`` (list of strings),
        ``bad_blocks`` (blocks retired after a failed program or erase),
        ``torn`` (interrupted writes at the log's end, harmless), ``refs`` (name ->
        "ok" or what is missing), ``missing``, ``clean`` (bool). With ``repair``,
        a damaged store is compacted (only verified objects are copied, damaged
        records and summaries are dropped); refs are never guessed."""
        rep = {"records": 0, "objects": 0, "damaged": list(self.damage), "torn": 0,
               "refs": {}, "missing": 0, "pruned": 0, "bad_blocks": self.bad_blocks()}
        for b in self._log_order():
            buf = self._read(b, 0, self.B)
            end = self._region_end(b, buf)
            prefixes = bytearray()
            offs = []
            for pos, typ, n, st in scan_records(buf, self.data_start, end, self.P):
                if st == OK:
                    rep["records"] += 1
                    if typ == T_OBJ or typ == T_DELTA:
                        rep["objects"] += 1
                        if typ == T_OBJ:
                            prefixes += hashlib.sha256(bytes(buf[pos + 4:pos + 4 + n])).digest()[:4]
                        else:
                            prefixes += bytes(buf[pos + 4:pos + 8])
                        offs.append(pos)
                elif st == TORN:
                    rep["torn"] += 1
                else:
                    self._fsck_note(rep, "block %d offset %d: damaged record" % (b, pos))
            if not self.bad[b]:
                self._fsck_seal(rep, b, buf, end, prefixes, offs)
            buf = None
        wipe = self._fsck_headers(rep)
        if not self.refs_damaged:
            for name in sorted(self._refs):
                rep["refs"][name] = self._check_reach(self._refs[name], rep)
        else:
            rep["refs"] = None
        rep["clean"] = not rep["damaged"] and rep["missing"] == 0 and not self.refs_damaged
        if repair and not rep["clean"] and not self.refs_damaged:
            for b in wipe:
                if not self.seq[b]:
                    try:
                        self._erase(b)
                    except BadBlock:
                        pass
            self.compact()
            if self.compaction_lost == 0:
                for b in self.unplaced:
                    try:
                        self._erase(b)
                    except BadBlock:
                        pass
                self.unplaced = []
            self.damage = []
            self.lost = False
        return rep

    def _fsck_headers(self, rep):
        """Check every good block's erase and alloc headers; return the free blocks
        whose headers are damaged (repair erases them). An erased header is fine (a
        block erased before its header was written; a free block)."""
        wipe = []
        for b in range(self.N):
            if self.bad[b]:
                continue
            hdr = self._read(b, 0, 2 * self.H)
            if parse_header(hdr, MAGIC_ERASE) is None and not all_ff(hdr, 0, self.H):
                self._fsck_note(rep, "block %d: erase header damaged" % b)
                if not self.seq[b]:
                    wipe.append(b)
            if parse_header(memoryview(hdr)[self.H:], MAGIC_ALLOC) is None and not all_ff(hdr, self.H, 2 * self.H):
                if not self.seq[b] and b not in self.unplaced:
                    self._fsck_note(rep, "block %d: alloc header damaged (free block)" % b)
                    wipe.append(b)
                elif self.seq[b]:
                    known = "block %d: alloc header" % b
                    if not [d for d in rep["damaged"] if d.startswith(known)]:
                        self._fsck_note(rep, known + " damaged")
        return wipe

    def _fsck_note(self, rep, msg):
        if msg not in rep["damaged"]:
            rep["damaged"].append(msg)

    def _fsck_seal(self, rep, b, buf, end, prefixes, offs):
        """Check block ``b``'s footer and summary record (image ``buf``; ``prefixes``,
        ``offs``: the object records a scan found before ``end``). An erased footer
        is fine (an unsealed or unsummarised block is scanned); a footer that is
        neither erased nor valid, or a summary record that is damaged or does not
        list exactly the block's object records, is damage."""
        if end == self.foot:
            if not all_ff(buf, self.foot, self.B):
                self._fsck_note(rep, "block %d: footer damaged" % b)
            return
        n = header_ok(buf, end, self.foot)
        if n < 0 or buf[end] != T_SUM or not rec_ok(buf, end, n):
            self._fsck_note(rep, "block %d offset %d: summary damaged" % (b, end))
            return
        pre, so = parse_summary(memoryview(buf)[end + 4:end + 4 + n])
        if n % 6 or pre != bytes(prefixes) or so != offs:
            self._fsck_note(rep, "block %d offset %d: summary does not match the block" % (b, end))

    def _check_reach(self, root, rep):
        """Walk ``root``'s closure with a bounded visited set; return "ok" or a problem."""
        seen = {}
        stack = [(root, self.keep, 0)]
        problem = "ok"
        while stack:
            oid, d, dist = stack.pop()
            if oid in seen:
                continue
            if len(seen) >= SEEN_MAX:
                seen.clear()
            seen[oid] = 1
            try:
                raw = self._find(oid)[0]
            except StorageError:
                raw = None
            if raw is None:
                if dist == 2 and self.keep is not None:
                    rep["pruned"] += 1
                    continue
                rep["missing"] += 1
                problem = "missing %s" % binascii.hexlify(oid).decode()
                continue
            refs = references(raw)
            if raw[0] == TAG_COMMIT:
                if d is None or d > 1:
                    for p in refs[1:]:
                        stack.append((p, None if d is None else d - 1, 2 if self.keep is not None else 0))
                stack.append((refs[0], None, 0))
            else:
                for c in refs:
                    stack.append((c, None, 0))
        return problem
