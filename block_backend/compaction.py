"""Compaction: copy what the refs reach (history per ``keep``) into fresh blocks,
write a ref snapshot, then erase the old blocks oldest first.

``Compactor`` is a mixin of ``FlashStore``.
"""

import hashlib
import struct

from block_backend import delta
from block_backend.errors import BadBlock, DeviceFull, NoSpace
from block_backend.index import PENDING_MAX
from block_backend.records import (OK, T_BAD, T_DELTA, T_OBJ, T_REF, T_SNAP_BEGIN, T_SNAP_END,
                                   encode_record, scan_records)
from portable_core.objects import TAG_COMMIT, TAG_CONTENTS
from portable_core.snapshot import references
from portable_core.storage import StorageError

REV_MAX = 32


class Compactor:
    """Mixin: compaction and its reserve."""

    def _reserve(self):
        """Free blocks kept back so that a compaction can always copy the live data."""
        return max(self.live_blocks + 2, self.N // 2)

    def compact(self):
        """Copy what the refs reach (history per ``keep``) and the pending objects'
        references into fresh blocks, then erase the old blocks oldest first. A block
        failing during the copy is marked bad, the new blocks are dropped and the
        copy starts again (DeviceFull when the good blocks do not suffice)."""
        while True:
            try:
                return self._compact_once()
            except BadBlock:
                self._drop_new_region()
                if self.free_blocks() < 2:
                    raise DeviceFull("device full: too many bad blocks")

    def _drop_new_region(self):
        """Erase the blocks an interrupted compaction wrote (the old log is intact)."""
        self._cbuf = []
        self._rev = None
        self._compacting = False
        for b in range(self.N):
            if self.seq[b] and self.seq[b] >= self._start_seq and not self.bad[b]:
                try:
                    self._erase(b)
                except BadBlock:
                    pass
        self._reset_head(self.order[self.nlog - 1])
        self.head_sealed = True
        self._cache.clear()

    def _compact_once(self):
        """One compaction attempt (see ``compact``)."""
        if not self.head_sealed:
            self._seal_head()
        start = self.next_seq
        self._cache.clear()
        self._compacting = True
        self._start_seq = start
        self.compaction_lost = 0
        self._cbuf = []
        self._cbytes = 0
        self._rev = {}
        try:
            for name in sorted(self._refs):
                self._copy(self._refs[name], self.keep)
            for oid, raw, _ in self._pending:
                for c in references(raw):
                    self._copy(c, self.keep)
            if self._orphans is not None:
                self._copy_orphans(self._orphans, start)
            live = sum(1 for s in self.seq if s >= start) + 1
            recs = self._cbuf + [(None, encode_record(T_SNAP_BEGIN, b""))]
            names = sorted(self._refs)
            for name in names:
                nb = name.encode()
                recs.append((None, encode_record(T_REF, bytes((len(nb),)) + nb + self._refs[name])))
            for b in self.bad_blocks():
                recs.append((None, encode_record(T_BAD, struct.pack("<H", b))))
            recs.append((None, encode_record(T_SNAP_END, struct.pack("<HHH", len(names), live, self.keep or 0))))
            self._cbuf = []
            self._program_batch(recs)
        except NoSpace:
            self._drop_new_region()
            raise DeviceFull("device full: live data does not fit in the free blocks")
        self._compacting = False
        self._orphans = None
        self._rev = None
        self.dev.ioctl(3, 0)
        old = [b for b in self._log_order() if self.seq[b] < start]
        self._bad_new = []
        for b in old:
            try:
                self._erase(b)
            except BadBlock:
                pass  # stays in the log, below the snapshot: stale but harmless
        self.live_blocks = self.nlog
        self._cache.clear()
        self.compactions += 1
        self.dev.ioctl(3, 0)

    def _emit(self, oid, raw):
        """Queue ``oid`` for the new region: as a delta against the newer version
        already copied that was stored as an edit of it (a reverse delta, depth
        bounded by max_chain), else full; program the queue when it exceeds a batch."""
        rec = None
        newer = self._rev.get(oid)
        if newer is not None:
            rec = self._reverse_delta(oid, raw, newer)
        if rec is None:
            rec = encode_record(T_OBJ, raw)
        self._cbuf.append((oid, rec))
        self._cbytes += len(rec)
        if self._cbytes > PENDING_MAX:
            self._flush_cbuf()

    def _flush_cbuf(self):
        """Program the compaction queue."""
        recs = self._cbuf
        self._cbuf = []
        self._cbytes = 0
        self._program_batch(recs)

    def _reverse_delta(self, oid, raw, newer):
        """Return a T_DELTA record of ``raw`` against the copy of ``newer`` in the new
        region, or None when that is not possible or not smaller."""
        for o, r in self._cbuf:
            if o == newer:
                self._flush_cbuf()
                break
        try:
            found = self._find(newer, self._start_seq)
        except StorageError:
            return None
        if found[0] is None or found[1] is None:
            return None
        m = self._materialize(found[1], found[2], [False])
        if m is None or m[1] >= self.max_chain:
            return None
        runs = delta.diff(m[0], raw, len(raw) - 21)
        if runs is None:
            return None
        p = delta.encode(oid, self.seq[found[1]], found[2], m[1] + 1, len(raw), runs)
        if delta.apply(m[0], p) != raw:
            return None
        return encode_record(T_DELTA, p)

    def _note_base(self, oid):
        """After ``oid`` was read from a delta record, remember that its base (an
        older version) may be stored as a delta against ``oid``'s new copy."""
        base = self._mat_base
        self._mat_base = None
        if base is None or base[0] == TAG_CONTENTS:
            return
        if len(self._rev) >= REV_MAX:
            self._rev.clear()
        self._rev[hashlib.sha256(base).digest()] = oid

    def _copied(self, oid, start):
        """Return True when ``oid`` is already in the new region (or queued)."""
        for o, r in self._cbuf:
            if o == oid:
                return True
        return self._find(oid, start)[0] is not None

    def _copy(self, root, depth):
        """Copy ``root``'s closure post-order (commits: parents up to ``depth``)."""
        stack = [(root, depth, None)]
        while stack:
            oid, d, raw = stack.pop()
            if raw is not None:
                self._emit(oid, raw)
                continue
            if self._copied(oid, self._start_seq):
                continue
            self._mat_base = None
            try:
                raw = self._find(oid)[0]
            except StorageError:
                raw = None
            if raw is None:
                self.compaction_lost += 1
                continue
            self._note_base(oid)
            tag = raw[0]
            if tag == TAG_CONTENTS:
                self._emit(oid, raw)
                continue
            refs = references(raw)
            if tag == TAG_COMMIT:
                if d is None or d > 1:
                    for p in refs[1:]:
                        stack.append((p, None if d is None else d - 1, None))
                stack.append((oid, d, raw))
                stack.append((refs[0], None, None))
            else:
                stack.append((oid, d, raw))
                for c in refs:
                    stack.append((c, None, None))

    def _copy_orphans(self, first_seq, start):
        """Copy the objects flushed since ``first_seq`` that no ref records yet."""
        for b in self._log_order():
            s = self.seq[b]
            if s < first_seq or s >= start:
                continue
            buf = self._read(b, 0, self.B)
            found = []
            for pos, typ, n, st in scan_records(buf, self.data_start, self._region_end(b, buf), self.P):
                if st == OK and (typ == T_OBJ or typ == T_DELTA):
                    oid = self._record_id(b, pos, buf, typ, n)
                    if oid is not None:
                        found.append(oid)
            buf = None
            for oid in found:
                self._copy(oid, self.keep)
