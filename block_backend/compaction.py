"""Compaction: copy what the refs reach (history per ``keep``) into fresh blocks,
write a ref snapshot, then erase the old blocks oldest first.

Functions of a ``FlashStore`` (``fs``), imported on the first compaction:
``FlashStore.compact`` calls ``compact(fs)``. What to copy is decided by the
store's ``retention`` (``portable_core.retention`` or an object with the same two
functions): ``kept_commits`` names the commits to keep, ``links`` what an object
refers to. This module knows no object format.
"""

import hashlib
import struct

from block_backend import delta
from block_backend.errors import BadBlock, DeviceFull, NoSpace
from block_backend.index import PENDING_MAX
from block_backend.log import S_BAD
from block_backend.records import (OK, T_BAD, T_DELTA, T_MANIFEST, T_OBJ, T_REF, T_SNAP_BEGIN,
                                   T_SNAP_END, encode_record, scan_records)
from portable_core.storage import StorageError

REV_MAX = 32


def retention_of(fs):
    """Return the store's retention; StorageError when it was opened without one."""
    if fs.retention is None:
        raise StorageError("this FlashStore was opened without a retention: compaction and "
                           "fsck need one (FlashStore.open(device, retention=portable_core.retention))")
    return fs.retention


def compact(fs, keep=-1, through=False):
    """Copy the commits ``fs.retention.kept_commits`` names (every commit the refs
    reach when ``keep`` is None) with what they need, and the pending objects with
    what they refer to, into fresh blocks, then erase the old blocks oldest first.
    A block failing during the copy is marked bad, the new blocks are dropped and
    the copy starts again (DeviceFull when the good blocks do not suffice).

    ``keep``: the history kept (-1: ``fs.keep``); another value becomes the
    store's ``keep`` (a full device's compaction, ``room.make_room``).
    ``through``: the refs already hold an update that did not fit: this
    compaction is its commit point; it copies only what the refs reach (pending
    objects they reach included) and drops the other pending and
    flushed-but-uncommitted objects."""
    retention_of(fs)
    if keep != -1 and keep != fs.keep:
        # the device cannot afford the history asked for: the store keeps this
        # much from now on (recorded in the snapshot; open with ``keep`` for more)
        fs.keep = keep
    fs._through = through
    while True:
        try:
            return _compact_once(fs, fs.keep)
        except BadBlock:
            _drop_new_region(fs)
            if fs.free_blocks() < 2:
                raise DeviceFull("device full: too many bad blocks")


def _drop_new_region(fs):
    """Erase the blocks an interrupted compaction wrote (the old log is intact)."""
    fs._cbuf = []
    fs._rev = None
    fs._compacting = False
    for b in fs._log_span(fs._start_seq):
        if not fs.state[b] & S_BAD:
            try:
                fs._erase(b)
            except BadBlock:
                pass
    fs._reset_head(fs.order[fs.nlog - 1])
    fs.head_sealed = True
    fs._cache.clear()


def _compact_once(fs, keep):
    """One compaction attempt (see ``compact``)."""
    names = sorted(fs._refs)
    kept = fs.retention.kept_commits(fs.objects, [fs._refs[n] for n in names], keep)
    if not fs.head_sealed:
        fs._seal_head()
    start = fs.next_seq
    fs._cache.clear()
    fs._compacting = True
    fs._start_seq = start
    fs.compaction_lost = 0
    fs._cbuf = []
    fs._cbytes = 0
    fs._rev = {}
    mark = None
    try:
        every = kept is None  # keep=None: all history
        for name in names:  # (a head that cannot be read counts as lost)
            _copy(fs, fs._refs[name], every)
        for cid in kept or ():
            _copy(fs, cid, False)
        for oid, raw, _, _ in () if fs._through else fs._pending:
            if type(raw) is list:  # held pieces of a chunked object (chunks.add_pieces)
                if _leaf(fs, raw[0][0]):
                    continue
                raw = b"".join(raw)
            needed, parents = fs.retention.links(raw)
            for c in needed:
                _copy(fs, c, every)
            for c in parents:  # a new commit's parents: the heads it extends
                _copy(fs, c, every, True)
        if fs._orphans is not None and not fs._through:
            # their copies are still uncommitted: the next compaction (a full
            # device may run two in a row) copies them from here again
            _flush_cbuf(fs)
            mark = (fs.next_seq, 0) if fs.head_sealed else (fs.next_seq - 1, fs.head_pos)
            _copy_orphans(fs, fs._orphans, start, every)
        live = len(fs._log_span(start)) + 1
        recs = fs._cbuf + [(None, encode_record(T_SNAP_BEGIN, struct.pack("<I", start)))]
        for name in names:
            nb = name.encode()
            recs.append((None, encode_record(T_REF, bytes((len(nb),)) + nb + fs._refs[name])))
        for b in fs.bad_blocks():
            recs.append((None, encode_record(T_BAD, struct.pack("<H", b))))
        recs.append((None, encode_record(T_SNAP_END, struct.pack("<HHH", len(names), live, fs.keep or 0))))
        fs._cbuf = []
        fs._program_batch(recs)
    except NoSpace:
        _drop_new_region(fs)
        raise DeviceFull("device full: live data does not fit in the free blocks")
    fs._compacting = False
    fs._orphans = mark
    fs._rev = None
    if fs._through:  # the refs' new values are durable: what they reach is copied
        fs._pending = []
        fs._pending_bytes = 0
        fs._absent = None
    fs.dev.ioctl(3, 0)
    old = fs._log_span(0, start)
    fs._bad_new = []
    for b in old:
        try:
            fs._erase(b)
        except BadBlock:
            fs._set_seq(b, 0)  # out of the log: stale (its seq is below the snapshot's)
            fs._filt_clear(b)
    fs.live_blocks = fs.nlog
    fs._cache.clear()
    fs.compactions += 1
    fs.dev.ioctl(3, 0)


def _emit(fs, oid, raw):
    """Queue ``oid`` for the new region: as a delta against the newer version
    already copied that was stored as an edit of it (a reverse delta, depth
    bounded by max_chain), else full; program the queue when it exceeds a batch."""
    if chunks_needed(fs, len(raw)):
        _flush_cbuf(fs)
        from block_backend import chunks

        fs._program_batch(chunks.records(fs, oid, len(raw), [raw]))
        return
    rec = None
    newer = fs._rev.get(oid)
    if newer is not None:
        rec = _reverse_delta(fs, oid, raw, newer)
    if rec is None:
        rec = encode_record(T_OBJ, raw)
    fs._cbuf.append((oid, rec))
    fs._cbytes += len(rec)
    if fs._cbytes > PENDING_MAX:
        _flush_cbuf(fs)


def _flush_cbuf(fs):
    """Program the compaction queue."""
    recs = fs._cbuf
    fs._cbuf = []
    fs._cbytes = 0
    fs._program_batch(recs)


def _reverse_delta(fs, oid, raw, newer):
    """Return a T_DELTA record of ``raw`` against the copy of ``newer`` in the new
    region, or None when that is not possible or not smaller."""
    for o, r in fs._cbuf:
        if o == newer:
            _flush_cbuf(fs)
            break
    try:
        found = fs._find(newer, fs._start_seq)
    except StorageError:
        return None
    if found[0] is None or found[1] is None:
        return None
    m = fs._materialize(found[1], found[2], [False])
    if m is None or m[1] >= fs.max_chain:
        return None
    runs = delta.diff(m[0], raw, len(raw) - 21)
    if runs is None:
        return None
    p = delta.encode(oid, fs.seq_of(found[1]), found[2], m[1] + 1, len(raw), runs)
    if not delta.rebuilds(m[0], p, raw):
        return None
    return encode_record(T_DELTA, p)


def _note_base(fs, oid):
    """After ``oid`` was read from a delta record, remember that its base (an
    older version) may be stored as a delta against ``oid``'s new copy."""
    base = fs._mat_base
    fs._mat_base = None
    if base is None:
        return
    if len(fs._rev) >= REV_MAX:
        fs._rev.clear()
    fs._rev[hashlib.sha256(base).digest()] = oid


def _copied(fs, oid, start):
    """Return True when ``oid`` is already in the new region (or queued; or
    pending, unless this compaction commits the refs: then it is copied)."""
    for o, r in fs._cbuf:
        if o == oid:
            return True
    found = fs._find(oid, start)
    return found[0] is not None and (found[1] is not None or not fs._through)


def chunks_needed(fs, size):
    """Return True when an object of ``size`` bytes is stored in chunks."""
    if size <= fs.foot - fs.data_start - 256:
        return False
    from block_backend import chunks

    return chunks.needs_chunks(fs, size)


def _leaf(fs, tag):
    """Return True when an object whose raw bytes start with ``tag`` refers to
    nothing (the retention's ``links`` says so from that byte alone: contents),
    so that a chunked one is copied record by record, never read whole."""
    try:
        return fs.retention.links(bytes((tag,))) == ([], [])
    except ValueError:  # it needs the whole object (a node, a commit)
        return False


def _copy_chunked(fs, ch):
    """Copy chunked object ``ch`` (a ``chunks.Chunked``) record by record: its
    chunks then a new manifest, never the whole object in RAM."""
    from block_backend import chunks

    _flush_cbuf(fs)
    try:
        fs._program_batch(chunks.copied_records(fs, ch))
    except chunks.ChunkLost:
        fs.compaction_lost += 1


def _copy(fs, root, history, parent=False):
    """Copy ``root`` and what it needs (``retention.links``), post-order; with
    ``history``, every parent commit too (keep=None). A missing parent commit
    (``parent``: ``root`` is one) is the edge of a shallow history, not a loss."""
    links = fs.retention.links
    stack = [(root, None, parent)]
    while stack:
        oid, raw, is_parent = stack.pop()
        if raw is not None:
            _emit(fs, oid, raw)
            continue
        if _copied(fs, oid, fs._start_seq):
            continue
        fs._mat_base = None
        try:
            raw = fs._find(oid)[0]
        except StorageError:
            raw = None
        if raw is None:
            if not is_parent:
                fs.compaction_lost += 1
            continue
        if type(raw) is list:  # held pieces of a chunked object (chunks.add_pieces)
            if _leaf(fs, raw[0][0]):
                _flush_cbuf(fs)
                from block_backend import chunks

                fs._program_batch(chunks.records(fs, oid, sum(len(p) for p in raw), raw))
                continue
            raw = b"".join(raw)
        if hasattr(raw, "at"):  # a chunked object (block_backend.chunks.Chunked)
            if _leaf(fs, raw.tag):
                _copy_chunked(fs, raw)
                continue
            from block_backend import chunks

            got = chunks.read_split(fs, raw, 0)
            if got is None:
                fs.compaction_lost += 1
                continue
            raw = got[1]
        _note_base(fs, oid)
        needed, parents = links(raw)
        if history:
            for p in parents:
                stack.append((p, None, True))
        stack.append((oid, raw, False))
        for c in needed:
            stack.append((c, None, False))


def _copy_orphans(fs, first, start, every):
    """Copy the objects flushed since ``first`` (seq, offset) that no ref records
    yet (only those: the rest of their blocks is reached from the refs)."""
    first_seq, first_off = first
    for b in fs._log_span(first_seq, start):
        skip = first_off if fs.seq_of(b) == first_seq else 0  # before the orphans
        buf = fs._read(b, 0, fs.B)
        found = []
        for pos, typ, n, st in scan_records(buf, fs.data_start, fs._region_end(b, buf), fs.P):
            if pos < skip:
                continue
            if st == OK and (typ == T_OBJ or typ == T_DELTA or typ == T_MANIFEST):
                oid = fs._record_id(b, pos, buf, typ, n)
                if oid is not None:
                    found.append(oid)
        buf = None
        for oid in found:
            _copy(fs, oid, every)
