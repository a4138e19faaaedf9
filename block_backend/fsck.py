"""fsck: check every record's CRC, every object's id, every ref's closure; repair
by compaction (verified objects only; refs are never guessed).

Functions of a ``FlashStore`` (``fs``), imported on the first check:
``FlashStore.fsck`` calls ``fsck(fs, repair)``.
"""

import binascii
import hashlib

from block_backend.errors import BadBlock
from block_backend.log import S_BAD
from block_backend.layout import FMT_LEN, MAGIC_ALLOC, parse_format_header, parse_header, parse_summary
from block_backend.records import (OK, T_DELTA, T_MANIFEST, T_OBJ, T_SUM, TORN, all_ff, header_ok,
                                   rec_ok, scan_records)
from portable_core.storage import StorageError

SEEN_MAX = 256


def fsck(fs, repair=False):
    """Check every record's CRC, every object's id, every ref's reachability.

    Returns a dict: ``records``, ``objects``, ``damaged`` (list of strings),
    ``bad_blocks`` (blocks retired after a failed program or erase),
    ``torn`` (interrupted writes at the log's end, harmless), ``corrected``
    (records read after correcting one flipped bit in an erased-looking last unit:
    a torn write one bit short or a flip there, the record as written; a flip
    elsewhere is in ``damaged``), ``refs`` (name ->
    "ok" or what is missing), ``missing``, ``clean`` (bool). With ``repair``,
    a damaged store is compacted (only verified objects are copied, damaged
    records and summaries are dropped); refs are never guessed."""
    from block_backend.compaction import retention_of

    ret = retention_of(fs)
    rep = {"records": 0, "objects": 0, "damaged": list(fs.damage), "corrected": list(fs.corrected), "torn": 0,
           "refs": {}, "missing": 0, "pruned": 0, "bad_blocks": fs.bad_blocks()}
    for b in fs._log_order():
        buf = fs._read(b, 0, fs.B)
        end = fs._region_end(b, buf)
        prefixes = bytearray()
        offs = []
        for pos, typ, n, st in scan_records(buf, fs.data_start, end, fs.P):
            if st == OK:
                rep["records"] += 1
                if typ == T_OBJ or typ == T_DELTA or typ == T_MANIFEST:
                    rep["objects"] += 1
                    if typ == T_OBJ:
                        prefixes += hashlib.sha256(memoryview(buf)[pos + 4:pos + 4 + n]).digest()[:4]
                    else:
                        prefixes += bytes(buf[pos + 4:pos + 8])
                    offs.append(pos)
            elif st == TORN:
                rep["torn"] += 1
            else:
                _fsck_note(fs, rep, "block %d offset %d: damaged record" % (b, pos))
        if not fs.state[b] & S_BAD:
            _fsck_seal(fs, rep, b, buf, end, prefixes, offs)
        buf = None
    wipe = _fsck_headers(fs, rep)
    if not fs.refs_damaged:
        names = sorted(fs._refs)
        kept = ret.kept_commits(fs.objects, [fs._refs[n] for n in names], fs.keep)
        kept = None if kept is None else set(kept)
        for name in names:
            rep["refs"][name] = _check_reach(fs, ret.links, fs._refs[name], rep, kept)
    else:
        rep["refs"] = None
    rep["clean"] = not rep["damaged"] and rep["missing"] == 0 and not fs.refs_damaged
    if repair and not rep["clean"] and not fs.refs_damaged:
        for b in wipe:
            if not fs._in_log(b):
                try:
                    fs._erase(b)
                except BadBlock:
                    pass
        fs.compact()
        if fs.compaction_lost == 0:
            for b in fs.unplaced:
                try:
                    fs._erase(b)
                except BadBlock:
                    pass
            fs.unplaced = []
        fs.damage = []
        fs.lost = False
    return rep


def _fsck_headers(fs, rep):
    """Check every good block's format and alloc headers; return the free blocks
    whose headers are damaged (repair erases them). An erased header is fine (a
    block erased before its header was written; a free block)."""
    wipe = []
    for b in range(fs.N):
        if fs.state[b] & S_BAD:
            continue
        hdr = fs._read(b, 0, fs.data_start)
        fmt = parse_format_header(hdr)
        # a header whose first unit is erased is a torn erase, whose last unit is
        # erased a torn program: not damage (the block is erased before reuse)
        if fmt is None and not all_ff(hdr, 0, fs.P) and \
                not all_ff(hdr, (FMT_LEN - 1) // fs.P * fs.P, fs.alloc_at):
            _fsck_note(fs, rep, "block %d: erase header damaged" % b)
            if not fs._in_log(b):
                wipe.append(b)
        elif fmt is not None and fmt[1:] != fs.fmt:
            _fsck_note(fs, rep, "block %d: erase header of another format" % b)
            if not fs._in_log(b):
                wipe.append(b)
        if parse_header(memoryview(hdr)[fs.alloc_at:], MAGIC_ALLOC) is None and \
                not all_ff(hdr, fs.alloc_at, fs.data_start):
            if not fs._in_log(b) and b not in fs.unplaced:
                _fsck_note(fs, rep, "block %d: alloc header damaged (free block)" % b)
                wipe.append(b)
            elif fs._in_log(b):
                known = "block %d: alloc header" % b
                if not [d for d in rep["damaged"] if d.startswith(known)]:
                    _fsck_note(fs, rep, known + " damaged")
    return wipe


def _fsck_note(fs, rep, msg):
    if msg not in rep["damaged"]:
        rep["damaged"].append(msg)


def _fsck_seal(fs, rep, b, buf, end, prefixes, offs):
    """Check block ``b``'s footer and summary record (image ``buf``; ``prefixes``,
    ``offs``: the object records a scan found before ``end``). An erased footer
    is fine (an unsealed or unsummarised block is scanned); a footer that is
    neither erased nor valid, or a summary record that is damaged or does not
    list exactly the block's object records, is damage."""
    if end == fs.foot:
        if not all_ff(buf, fs.foot, fs.B):
            _fsck_note(fs, rep, "block %d: footer damaged" % b)
        return
    n = header_ok(buf, end, fs.foot)
    if n < 0 or buf[end] != T_SUM or not rec_ok(buf, end, n):
        _fsck_note(fs, rep, "block %d offset %d: summary damaged" % (b, end))
        return
    pre, so = parse_summary(memoryview(buf)[end + 4:end + 4 + n])
    if n % 6 or pre != bytes(prefixes) or so != offs:
        _fsck_note(fs, rep, "block %d offset %d: summary does not match the block" % (b, end))


def _check_reach(fs, links, root, rep, kept):
    """Walk ``root``'s closure (``links``: the retention's) with a bounded visited
    set; return "ok" or a problem. History is followed through the commits
    compaction keeps (``kept``: their ids, None: all); the parents beyond them
    are counted in ``pruned``, not checked (they may be gone: the edge of a
    shallow history). A missing commit that compaction keeps, tree or value is
    damage."""
    seen = {}
    stack = [root]
    problem = "ok"
    while stack:
        oid = stack.pop()
        if oid in seen:
            continue
        if len(seen) >= SEEN_MAX:
            seen.clear()
        seen[oid] = 1
        try:
            raw = fs._find(oid)[0]
        except StorageError:
            raw = None
        if raw is None:
            rep["missing"] += 1
            problem = "missing %s" % binascii.hexlify(oid).decode()
            continue
        if hasattr(raw, "at"):  # chunked (block_backend.chunks.Chunked): verified
            from block_backend.compaction import _leaf

            if _leaf(fs, raw.tag):
                continue
            from block_backend import chunks

            raw = chunks.read_split(fs, raw, 0)[1]
        needed, parents = links(raw)
        for p in parents:
            if kept is None or p in kept:
                stack.append(p)
            else:
                rep["pruned"] += 1
        for c in needed:
            stack.append(c)
    return problem
