"""Chunked objects: an object too big for one record (docs/SPEC.md "Chunked
objects", docs/DESIGN.md "Block store").

Like Irmin's irmin-chunk, a large object is cut into fixed-size data chunks and
an index lists them; its id stays the sha256 of the whole object. Here the chunks
are T_CHUNK records (a slice of the raw bytes each, CRC-checked like every record,
not indexed) and the index is one T_MANIFEST record, programmed after its chunks
in the same batch: ``id (32), u32 size, u16 count, count x (u32 seq, u16 offset)``.
The manifest is the object's record: summaries and lookups see it as they see a
delta (its id's first 4 bytes are the first 4 payload bytes).

Writing streams the object's pieces (the core hands a value's CBOR head and the
value itself, never one joined copy) straight into chunk records; reading fills
one buffer of the object's size from the chunks, hashing on the way. Imported on
first use: a store that never meets a large object does not pay its RAM.
"""

import hashlib
import struct

from block_backend.errors import DeviceFull
from block_backend.layout import summary_size
from block_backend.records import T_CHUNK, T_MANIFEST, align, crc32, encode_record, header_ok

HEAD = 38  # manifest payload before its entries: id 32, u32 size, u16 count
ENTRY = 6  # a manifest entry: u32 seq, u16 offset of one chunk record
READ = 256  # bytes read at a time when verifying without a destination buffer
CHUNK_MAX = 1024  # most object bytes in one chunk record: the RAM a write needs beyond the value
HOLD_MAX = 0x20000  # most bytes of pending objects held when no batch fits (then DeviceFull)
ROOM_BLOCKS = 2  # room.ROOM: free blocks kept beyond a copy of the log


class Chunked:
    """A verified chunked object record found by a lookup: ``oid``, ``size``,
    ``tag`` (its first raw byte), the manifest's address ``(b, off)`` and its
    chunks' addresses ``at`` (a list of ``seq << 16 | offset``)."""

    def __init__(self, oid, size, tag, b, off, at):
        self.oid = oid
        self.size = size
        self.tag = tag
        self.b = b
        self.off = off
        self.at = at


def chunk_size(fs):
    """Return the object bytes one chunk record carries on ``fs``: ``CHUNK_MAX``,
    or less when a block's record area (after its seq record, with room for a
    summary) is smaller."""
    room = fs.foot - fs.data_start - align(12, fs.P) - summary_size(1, fs.P) - 8 - 2 * fs.P
    return min(room, CHUNK_MAX)


def max_chunks(fs):
    """Return the most chunks one manifest record can list on ``fs``."""
    room = fs.foot - fs.data_start - align(12, fs.P) - summary_size(1, fs.P) - 8 - 2 * fs.P
    return (min(room, 0xFFFF) - HEAD) // ENTRY


def max_size(fs):
    """Return the largest object ``fs``'s format can hold (before device room)."""
    return chunk_size(fs) * max_chunks(fs)


def needs_chunks(fs, size):
    """Return True when an object of ``size`` raw bytes is stored in chunks."""
    return size > chunk_size(fs)


def count(fs, size):
    """Return how many chunk records an object of ``size`` bytes takes."""
    c = chunk_size(fs)
    return (size + c - 1) // c


def add_pieces(fs, pieces):
    """Store in ``fs`` the object whose raw bytes are the concatenation of
    ``pieces`` (bytes-like) and return its id (``FlashObjects.add_pieces``). One
    too big for a record is written at once as chunk records and a manifest (an
    uncommitted batch, with the pending objects), streamed from the pieces:
    nothing the object's size is allocated. DeviceFull, nothing written, when
    the device could never hold it; when it only has no room now, the pieces
    wait in RAM for the ref update (log.py, room.py)."""
    h = hashlib.sha256()
    size = 0
    for p in pieces:
        h.update(p)
        size += len(p)
    oid = h.digest()
    h = None
    if not needs_chunks(fs, size):
        return fs.add_object(b"".join(pieces))
    if fs._absent != oid and fs._find(oid)[0] is not None:
        fs._absent = None
        return oid
    fs._absent = None
    blocks = count(fs, size)
    total = size + 8 * blocks + HEAD + 8 + ENTRY * blocks
    need = total // (fs.foot - fs.data_start - summary_size(8, fs.P)) + 2  # as log._write
    if size > max_size(fs) or 2 * need + ROOM_BLOCKS + 2 > fs.N - len(fs.bad_blocks()):
        raise DeviceFull("object of %d bytes does not fit this device: %d blocks of %d bytes "
                         "(an object needs at most half of the good blocks, and at most %d chunks "
                         "of %d bytes)" % (size, fs.N, fs.B, max_chunks(fs), chunk_size(fs)))
    if fs._orphans is None:
        if fs.head_sealed:
            fs._orphans = (fs.next_seq, 0)
        else:
            fs._orphans = (fs.next_seq - 1, fs.head_pos)
    pieces = list(pieces)
    try:
        fs._write([], lambda: records(fs, oid, size, pieces), total)
    except DeviceFull:
        if fs._pending_bytes + size > HOLD_MAX:
            raise
        # no room now: held in RAM (the pieces, not a copy) until the ref
        # update, which may commit through a compaction (room.py); a view of
        # the caller's buffer is copied, since it may change once the write
        # returns (or fails) while the pieces are still pending
        for i in range(len(pieces)):
            if type(pieces[i]) is not bytes:
                pieces[i] = bytes(pieces[i])
        fs._pending.append((oid, pieces, None, size))
        fs._pending_bytes += size
        fs._hold = True
    return oid


def records(fs, oid, size, pieces):
    """Yield the records storing an object whose raw bytes are the concatenation
    of ``pieces`` (bytes-like; ``size`` bytes in all, id ``oid``): its chunk
    records, then its manifest (``(oid, record)``). Each record is built when the
    batch asks for it, in one buffer allocated once and reused (the batch
    programs a record before asking for the next, and keeps no reference: see
    log._program_batch), so that a write never needs a fresh 1 KiB hole while
    the heap is crowded; where the previous one went is ``fs._placed``."""
    c = chunk_size(fs)
    at = [0] * count(fs, size)
    full = bytearray(c + 8)
    k = 0  # piece index
    pos = 0  # offset in pieces[k]
    left = size
    j = 0
    while left:
        n = min(c, left)
        mv = memoryview(full)
        rec = full if n == c else mv[:n + 8]
        mv[0] = T_CHUNK
        mv[1] = n & 0xFF
        mv[2] = n >> 8
        mv[3] = crc32(mv[:3]) & 0xFF
        i = 4
        while i < 4 + n:
            p = pieces[k]
            m = min(len(p) - pos, 4 + n - i)
            mv[i:i + m] = memoryview(p)[pos:pos + m]
            i += m
            pos += m
            if pos == len(p):
                k += 1
                pos = 0
        struct.pack_into("<I", full, 4 + n, crc32(mv[:4 + n]))
        mv = None
        left -= n
        yield None, rec
        rec = None
        at[j] = _placed(fs)
        j += 1
    n = HEAD + ENTRY * len(at)
    rec = memoryview(full)[:n + 8] if n <= c else bytearray(n + 8)  # the manifest, in place
    full = None
    manifest_into(rec, oid, size, at)
    yield oid, rec


def copied_records(fs, old):
    """Yield the records of a copy of chunked object ``old`` (a ``Chunked``): its
    chunk records read back one at a time (each CRC-checked), then a manifest
    naming the copies (compaction's hook: nothing the object's size is held)."""
    at = []
    for a in old.at:
        b = fs._block_of_seq(a >> 16)
        r = None if b is None else fs._read_record(b, a & 0xFFFF)
        if r is None or r[0] != T_CHUNK:
            raise ChunkLost()
        rec = encode_record(T_CHUNK, r[1])
        r = None
        yield None, rec
        rec = None
        at.append(_placed(fs))
    yield old.oid, manifest(old.oid, old.size, at)


class ChunkLost(Exception):
    """Internal: a chunk of an object being copied is no longer readable."""


def _placed(fs):
    b, off = fs._placed
    return (fs.seq_of(b) << 16) | off


def manifest(oid, size, at):
    """Return the T_MANIFEST record of object ``oid`` (``size`` bytes) whose chunk
    records are at ``at`` (``seq << 16 | offset`` each, in order)."""
    rec = bytearray(HEAD + ENTRY * len(at) + 8)
    manifest_into(rec, oid, size, at)
    return rec


def manifest_into(rec, oid, size, at):
    """Build in ``rec`` (a writable buffer of exactly the record's length) the
    T_MANIFEST record of ``manifest(oid, size, at)``."""
    n = len(rec) - 8
    mv = memoryview(rec)
    mv[0] = T_MANIFEST
    mv[1] = n & 0xFF
    mv[2] = n >> 8
    mv[3] = crc32(mv[:3]) & 0xFF
    mv[4:36] = oid
    struct.pack_into("<IH", rec, 36, size, len(at))
    i = 4 + HEAD
    for a in at:
        struct.pack_into("<IH", rec, i, a >> 16, a & 0xFFFF)
        i += ENTRY
    struct.pack_into("<I", rec, 4 + n, crc32(mv[:4 + n]))


def parse(p):
    """Return ``(oid, size, at)`` of a T_MANIFEST payload, or None if malformed."""
    if len(p) < HEAD:
        return None
    size, k = struct.unpack_from("<IH", p, 32)
    if len(p) != HEAD + ENTRY * k or not k:
        return None
    at = []
    for i in range(HEAD, len(p), ENTRY):
        seq, off = struct.unpack_from("<IH", p, i)
        at.append((seq << 16) | off)
    return bytes(p[:32]), size, at


def open_manifest(fs, b, off, p):
    """Return the verified ``Chunked`` of the manifest record at (b, off) with
    payload ``p``: every chunk's CRC and the whole object's sha256 are checked
    (read ``READ`` bytes at a time); None when a chunk is missing or damaged or
    the bytes do not hash to the id."""
    m = parse(p)
    if m is None:
        return None
    oid, size, at = m
    tag = []
    if _stream(fs, at, size, None, 0, tag) != oid:
        return None
    return Chunked(oid, size, tag[0], b, off, at)


def read_split(fs, ch, skip):
    """Return ``(first, rest)``: the first ``skip`` raw bytes of chunked object
    ``ch`` (bytes) and the rest in one new bytearray, filled from the chunks and
    verified (CRCs and sha256); None when damaged. RAM: ``rest`` and ``skip`` bytes."""
    skip = min(skip, ch.size)
    rest = bytearray(ch.size - skip)
    first = bytearray(skip)
    if _stream(fs, ch.at, ch.size, (first, rest), skip, []) != ch.oid:
        return None
    return bytes(first), rest


def _stream(fs, at, size, dest, skip, tag):
    """Read the chunks at ``at`` (``size`` bytes in all), checking each record's CRC;
    copy the bytes into ``dest`` (``(first, rest)``: the first ``skip`` bytes,
    then the others; ``rest`` None: only the first) when given; append the first byte to ``tag``. Return the
    sha256 of the bytes, or None when a chunk is missing, damaged or the sizes
    disagree."""
    h = hashlib.sha256()
    buf = None if dest is not None and dest[1] is not None else bytearray(READ)
    done = 0
    hdr = bytearray(8)
    for a in at:
        b = fs._block_of_seq(a >> 16)
        off = a & 0xFFFF
        if b is None or off + 8 > fs.B:
            return None
        fs.dev.readblocks(b, hdr, off)
        n = header_ok(hdr, 0, 8 + 0xFFFF)
        if n < 0 or hdr[0] != T_CHUNK or off + 8 + n > fs.B or done + n > size:
            return None
        crc = crc32(memoryview(hdr)[:4])
        pos = 0
        while pos < n:
            if dest is not None and done + pos < skip:
                m = min(skip - done - pos, n - pos)
                mv = memoryview(dest[0])[done + pos:done + pos + m]
            elif dest is None or dest[1] is None:
                m = min(READ, n - pos)
                mv = memoryview(buf)[:m]
            else:
                m = n - pos
                mv = memoryview(dest[1])[done + pos - skip:done + n - skip]
            fs.dev.readblocks(b, mv, off + 4 + pos)
            crc = crc32(mv, crc)
            h.update(mv)
            if not tag:
                tag.append(mv[0])
            pos += m
        mv = None
        fs.dev.readblocks(b, memoryview(hdr)[:4], off + 4 + n)
        if crc != struct.unpack_from("<I", hdr, 0)[0]:
            return None
        done += n
    if done != size:
        return None
    return h.digest()


def read_into(fs, oid, buf, skip):
    """Copy the raw bytes of object ``oid`` from offset ``skip`` on into ``buf`` (a
    writable buffer) and return ``(first, size)``: its first ``skip`` raw bytes
    and its size; nothing is copied into ``buf`` when it is shorter than ``size -
    skip`` (the caller tells from ``size``). None when ``oid`` is absent;
    StorageError when it is damaged. A chunked object is streamed from its chunks
    straight into ``buf``, each chunk's CRC and the whole object's sha256 checked
    on the way (``buf`` then holds unspecified bytes if a check fails). RAM: the
    ``skip`` bytes and a ``READ``-byte buffer, never a copy of the object
    (``FlashObjects.read_into``)."""
    from portable_core.storage import StorageError

    oid = bytes(oid)
    raw, b, _ = fs._find(oid)
    if raw is not None and hasattr(raw, "at"):  # chunked (Chunked): verified by the lookup
        size = raw.size
        skip = min(skip, size)
        first = bytearray(skip)
        rest = memoryview(buf)[:size - skip] if len(buf) >= size - skip else None
        if _stream(fs, raw.at, size, (first, rest), skip, []) == oid:
            return bytes(first), size
        raw = None
        b = True
    if raw is None:
        if b or fs.lost:
            raise StorageError("object %s is damaged on flash" % _hex(oid))
        return None
    if type(raw) is list:  # pieces held in RAM (add_pieces): copied from them
        size = 0
        for p in raw:
            size += len(p)
        pieces = raw
    else:
        size = len(raw)
        pieces = [raw]
    skip = min(skip, size)
    first = bytearray(skip)
    copy = len(buf) >= size - skip
    pos = 0
    for p in pieces:
        p = memoryview(p)
        n = len(p)
        if pos < skip:
            k = min(skip - pos, n)
            first[pos:pos + k] = p[:k]
        else:
            k = 0
        if copy and k < n:
            buf[pos + k - skip:pos + n - skip] = p[k:]
        pos += n
    return bytes(first), size


def _hex(oid):
    import binascii

    return binascii.hexlify(oid).decode()
