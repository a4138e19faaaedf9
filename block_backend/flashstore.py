"""FlashStore: Sprig's object and ref stores on a NOR block device (docs/SPEC.md "Flash layout").

A log of CRC-protected records in blocks ordered by a sequence number:

- every block: an *erase header* (erase count) written right after each erase, an
  *alloc header* (sequence number) written when the block joins the log, records
  packed from ``2 * H`` on, and when the block is full a SUM record (sorted-free
  summary: 4-byte id prefix and offset of each object record) plus a *footer* in the
  last prog unit pointing at it;
- records: ``type u8, len u16 LE, hcrc u8`` (low byte of the header's CRC-32),
  payload, CRC-32 (LE) of header + payload. Objects (raw bytes; id = sha256),
  ref updates, ref snapshot markers;
- a batch (the pending objects plus a ref update) is programmed as one contiguous
  write: the ref record comes last, so a valid ref record is the commit point.

RAM: O(block_count) small ints (erase counts, sequence numbers), one block's
object index (<= block_size / 9 entries), the refs, a bounded cache and the pending
batch (bounded). Nothing grows with the number of objects or commits.
"""

import binascii
import hashlib
import struct

from portable_core.objects import TAG_COMMIT, TAG_CONTENTS
from portable_core.snapshot import references
from portable_core.storage import ObjectStore, RefStore, StorageError

T_OBJ = 1
T_REF = 2
T_SNAP_BEGIN = 3
T_SNAP_END = 4
T_SUM = 5

OK = 0
TORN = 1
DAMAGED = 2

MAGIC_ERASE = b"SPRE"
MAGIC_ALLOC = b"SPRA"
MAGIC_FOOT = b"SPRF"

CACHE_MAX = 32
PENDING_MAX = 2048


class DeviceFull(StorageError):
    """No room left: the write was refused and nothing already stored was lost."""


class NotFormatted(StorageError):
    """The device holds no Sprig log (run FlashStore.format)."""


class _NoSpace(Exception):
    pass


def crc32(data, crc=0):
    return binascii.crc32(data, crc) & 0xFFFFFFFF


def _align(n, p):
    return (n + p - 1) // p * p


def encode_record(typ, payload):
    n = len(payload)
    hdr = bytearray((typ, n & 0xFF, n >> 8, 0))
    hdr[3] = crc32(memoryview(hdr)[:3]) & 0xFF
    return bytes(hdr) + bytes(payload) + struct.pack("<I", crc32(payload, crc32(hdr)))


def _header_ok(buf, pos, end):
    """Return the payload length if a plausible record header is at ``pos``, else -1."""
    if pos + 8 > end:
        return -1
    typ = buf[pos]
    if typ < T_OBJ or typ > T_SUM:
        return -1
    if crc32(bytes(buf[pos:pos + 3])) & 0xFF != buf[pos + 3]:
        return -1
    n = buf[pos + 1] | (buf[pos + 2] << 8)
    if pos + 8 + n > end:
        return -1
    return n


def _rec_ok(buf, pos, n):
    mv = memoryview(buf)
    want = struct.unpack("<I", bytes(mv[pos + 4 + n:pos + 8 + n]))[0]
    return crc32(mv[pos:pos + 4 + n]) == want


def _all_ff(buf, start, end):
    i = start
    while i < end:
        j = min(end, i + 64)
        if bytes(buf[i:j]) != b"\xff" * (j - i):
            return False
        i = j
    return True


def scan_records(buf, start, end, prog):
    """Yield ``(pos, typ, n, status)`` for the records of a block image ``buf``.

    status OK: a valid record (payload at pos + 4, n bytes); TORN: the end of the
    log (an interrupted program: everything after it is erased), scanning stops;
    DAMAGED: bytes that are neither (typ None when the header is unreadable),
    scanning resynchronises after it."""
    pos = start
    while pos < end:
        if buf[pos] == 0xFF:
            pos = _align(pos + 1, prog)
            continue
        n = _header_ok(buf, pos, end)
        if n >= 0:
            if _rec_ok(buf, pos, n):
                yield pos, buf[pos], n, OK
                if buf[pos] == T_SUM:
                    return
                pos += 8 + n
                continue
            last = (pos + 7 + n) // prog * prog
            if _all_ff(buf, last, pos + 8 + n) and _all_ff(buf, pos + 8 + n, end):
                yield pos, buf[pos], n, TORN
                return
            yield pos, buf[pos], n, DAMAGED
            pos += 8 + n
            continue
        if _all_ff(buf, _align(pos + 1, prog), end):
            yield pos, None, 0, TORN
            return
        yield pos, None, 0, DAMAGED
        q = pos + 1
        while q < end:
            m = _header_ok(buf, q, end)
            if m >= 0 and _rec_ok(buf, q, m):
                break
            q += 1
        pos = q


class FlashObjects(ObjectStore):
    def __init__(self, fs):
        self.fs = fs

    def add(self, raw, base=None):
        """Store ``raw``; return its id (``base``: see ObjectStore.add)."""
        return self.fs.add_object(raw)

    def get(self, oid):
        return self.fs.get_object(oid)

    def mem(self, oid):
        return self.fs.has_object(oid)

    def iterate(self):
        return self.fs.iterate_objects()


class FlashRefs(RefStore):
    def __init__(self, fs):
        self.fs = fs

    def _refs(self):
        fs = self.fs
        if fs.refs_damaged:
            raise StorageError("a ref update record is damaged: run fsck")
        return fs._refs

    def get(self, name):
        return self._refs().get(name)

    def set(self, name, oid):
        self._refs()
        self.fs.update_ref(name, bytes(oid))

    def test_and_set(self, name, expected, new):
        cur = self._refs().get(name)
        if cur != (None if expected is None else bytes(expected)):
            return False
        if new is None and cur is None:
            return True
        self.fs.update_ref(name, None if new is None else bytes(new))
        return True

    def remove(self, name):
        if name in self._refs():
            self.fs.update_ref(name, None)

    def list(self):
        return sorted(self._refs())


class FlashStore:
    """Sprig's stores on a NOR block device. Use ``FlashStore.format`` / ``open``.

    ``keep``: history retained by compaction, the last ``keep`` commits of each
    ref (None: all). Attributes: ``objects`` (ObjectStore), ``refs`` (RefStore),
    ``damage`` (list of strings found at mount), ``compactions``.
    """

    def __init__(self, device, keep=None):
        self.dev = device
        self.B = device.ioctl(5, 0)
        self.N = device.ioctl(4, 0)
        self.P = device.prog_size
        self.H = _align(12, self.P)
        self.data_start = 2 * self.H
        self.foot = self.B - self.H
        self.keep = keep
        self._keep_arg = keep
        self.objects = FlashObjects(self)
        self.refs = FlashRefs(self)
        self._refs = {}
        self.refs_damaged = False
        self.damage = []
        self.lost = False
        self.compactions = 0
        self._compacting = False
        self._pending = []  # (oid, raw)
        self._pending_bytes = 0
        self._cache = {}
        self._orphans = None  # (seq, pos) of the first flushed object not yet committed
        self.erase_count = [None] * self.N
        self.seq = [None] * self.N
        self.clean = [False] * self.N
        self.next_seq = 1
        self.live_blocks = 1
        self._reset_head(None)

    # -- formatting and mounting -------------------------------------------------

    @classmethod
    def format(cls, device, keep=None):
        """Erase ``device`` (keeping erase counts) and return an empty mounted store."""
        fs = cls(device, keep)
        for b in range(fs.N):
            fs._read_headers(b)
        for b in range(fs.N):
            fs.seq[b] = None
            fs._erase(b)
        fs._alloc_head()
        fs._program_batch([(None, encode_record(T_SNAP_BEGIN, b"")),
                           (None, encode_record(T_SNAP_END, struct.pack("<HHH", 0, 1, keep or 0)))])
        device.ioctl(3, 0)
        return fs

    @classmethod
    def open(cls, device, keep=None):
        """Mount the log on ``device``: find the last complete commit."""
        fs = cls(device, keep)
        fs._mount()
        return fs

    mount = open

    def _hdr(self, magic, value):
        b = magic + struct.pack("<I", value)
        b = b + struct.pack("<I", crc32(b))
        return b + b"\xff" * (self.H - 12)

    def _parse_hdr(self, buf, magic):
        b = bytes(buf[:12])
        if b[:4] != magic or struct.unpack("<I", b[8:12])[0] != crc32(b[:8]):
            return None
        return struct.unpack("<I", b[4:8])[0]

    def _read(self, b, off, n):
        buf = bytearray(n)
        self.dev.readblocks(b, buf, off)
        return buf

    def _read_headers(self, b):
        hdr = self._read(b, 0, 2 * self.H)
        ec = self._parse_hdr(hdr, MAGIC_ERASE)
        self.erase_count[b] = ec
        sq = self._parse_hdr(memoryview(hdr)[self.H:], MAGIC_ALLOC)
        self.seq[b] = sq
        self.clean[b] = sq is None and ec is not None and _all_ff(hdr, self.H, 2 * self.H)
        return hdr, ec, sq

    def _mount(self):
        for b in range(self.N):
            hdr, ec, sq = self._read_headers(b)
            if sq is None and not _all_ff(hdr, self.H, 2 * self.H):
                if not _all_ff(self._read(b, 0, self.B), 2 * self.H, self.B):
                    self.damage.append("block %d: alloc header damaged, block lost" % b)
                    self.lost = True
                    self.refs_damaged = True
        order = self._log_order()
        if not order:
            raise NotFormatted("no Sprig log on this device")
        self.next_seq = self.seq[order[-1]] + 1
        names = None
        for b in order:
            buf = self._read(b, 0, self.B)
            end = self._region_end(b, buf)
            for pos, typ, n, st in scan_records(buf, self.data_start, end, self.P):
                if st == DAMAGED:
                    self.damage.append("block %d offset %d: damaged record" % (b, pos))
                    if typ != T_OBJ:
                        self.refs_damaged = True
                    if typ is None or typ == T_OBJ:
                        self.lost = True
                    continue
                if st == TORN:
                    continue
                p = pos + 4
                if typ == T_REF:
                    ln = buf[p]
                    name = bytes(buf[p + 1:p + 1 + ln]).decode()
                    oid = bytes(buf[p + 1 + ln:p + n])
                    if oid:
                        self._refs[name] = oid
                    else:
                        self._refs.pop(name, None)
                    if names is not None:
                        names.append(name)
                elif typ == T_SNAP_BEGIN:
                    names = []
                elif typ == T_SNAP_END:
                    count, live, keep = struct.unpack("<HHH", bytes(buf[p:p + 6]))
                    if names is not None and len(names) == count:
                        for k in list(self._refs):
                            if k not in names:
                                del self._refs[k]
                        if not self.lost:
                            self.refs_damaged = False
                        self.live_blocks = live
                        if self._keep_arg is None:
                            self.keep = keep or None
                    names = None
            buf = None
        self._mount_head(order[-1])

    def _region_end(self, b, buf):
        """End of the record area of block ``b`` (image ``buf``): the summary or the footer."""
        off = self._parse_foot(buf)
        return self.foot if off is None else off

    def _parse_foot(self, buf):
        f = self.foot
        b = bytes(buf[f:f + 12])
        if b[:4] != MAGIC_FOOT or struct.unpack("<I", b[8:12])[0] != crc32(b[:8]):
            return None
        return struct.unpack("<I", b[4:8])[0]

    def _log_order(self):
        used = [(self.seq[b], b) for b in range(self.N) if self.seq[b] is not None]
        used.sort()
        return [b for s, b in used]

    def _reset_head(self, b):
        self.head = b
        self.head_pos = self.data_start
        self.head_prefix = bytearray()
        self.head_offs = []
        self.head_sealed = b is None

    def _mount_head(self, b):
        buf = self._read(b, 0, self.B)
        self._reset_head(b)
        if self._parse_foot(buf) is not None:
            self.head_sealed = True
            return
        end = self.data_start
        dirty = False
        torn_end = 0
        for pos, typ, n, st in scan_records(buf, self.data_start, self.foot, self.P):
            if st == OK:
                if typ == T_SUM:
                    dirty = True
                    break
                if typ == T_OBJ:
                    oid = hashlib.sha256(bytes(buf[pos + 4:pos + 4 + n])).digest()
                    self.head_prefix += oid[:4]
                    self.head_offs.append(pos)
                end = _align(pos + 8 + n, self.P)
            else:
                dirty = True
                if st == TORN and typ is not None:
                    torn_end = pos + 8 + n
                if st == DAMAGED:
                    # bytes after damage: never append here
                    end = self.foot
        self.head_pos = end
        if dirty or not _all_ff(buf, end, self.B):
            # torn tail: seal after the garbage when the space after it is erased
            last = self.foot
            while last > end and buf[last - 1] == 0xFF:
                last -= 1
            self.head_pos = _align(max(last, torn_end), self.P)
            if self.head_pos + self._sum_size(len(self.head_offs)) <= self.foot:
                self._seal_head()
            else:
                self.head_sealed = True

    # -- blocks --------------------------------------------------------------------

    def _erase(self, b):
        known = [c for c in self.erase_count if c is not None]
        ec = self.erase_count[b]
        if ec is None:
            ec = max(known) if known else 0
        self.dev.ioctl(6, b)
        self.erase_count[b] = ec + 1
        self.seq[b] = None
        self.dev.writeblocks(b, self._hdr(MAGIC_ERASE, ec + 1), 0)
        self.clean[b] = True

    def free_blocks(self):
        return sum(1 for s in self.seq if s is None)

    def _alloc_head(self):
        best = None
        bestc = None
        top = max([c for c in self.erase_count if c is not None] or [0])
        for b in range(self.N):
            if self.seq[b] is None:
                c = self.erase_count[b]
                c = top if c is None else c
                if best is None or c < bestc:
                    best, bestc = b, c
        if best is None:
            raise _NoSpace()
        if not self.clean[best]:
            self._erase(best)
        self.dev.writeblocks(best, self._hdr(MAGIC_ALLOC, self.next_seq), self.H)
        self.seq[best] = self.next_seq
        self.clean[best] = False
        self.next_seq += 1
        self._reset_head(best)

    def _sum_size(self, nobj):
        return _align(8 + 6 * nobj, self.P)

    def _seal_head(self):
        payload = bytes(self.head_prefix) + b"".join(struct.pack("<H", o) for o in self.head_offs)
        rec = encode_record(T_SUM, payload)
        rec = rec + b"\xff" * (_align(len(rec), self.P) - len(rec))
        self.dev.writeblocks(self.head, rec, self.head_pos)
        foot = MAGIC_FOOT + struct.pack("<I", self.head_pos)
        foot = foot + struct.pack("<I", crc32(foot)) + b"\xff" * (self.H - 12)
        self.dev.writeblocks(self.head, foot, self.foot)
        self.head_pos += len(rec)
        self.head_sealed = True

    def _program_batch(self, recs):
        """Append records ``[(oid or None, record bytes)]`` contiguously; objects get indexed."""
        buf = bytearray()
        entries = []
        for oid, rec in recs:
            while True:
                if self.head_sealed:
                    if buf:
                        raise StorageError("internal: unflushed batch")
                    self._alloc_head()
                start = self.head_pos + len(buf)
                nobj = len(self.head_offs) + len(entries) + (1 if oid is not None else 0)
                if start + len(rec) + self._sum_size(nobj) <= self.foot:
                    break
                if not buf and self.head_pos == self.data_start:
                    raise StorageError("record of %d bytes does not fit in a block" % len(rec))
                self._program_head(buf, entries)
                buf = bytearray()
                entries = []
                self._seal_head()
            if oid is not None:
                entries.append((oid, start))
            buf += rec
        self._program_head(buf, entries)

    def _program_head(self, buf, entries):
        if not buf:
            return
        pad = _align(len(buf), self.P) - len(buf)
        if pad:
            buf += b"\xff" * pad
        self.dev.writeblocks(self.head, buf, self.head_pos)
        self.head_pos += len(buf)
        for oid, off in entries:
            self.head_prefix += oid[:4]
            self.head_offs.append(off)

    # -- objects -------------------------------------------------------------------

    def _read_record(self, b, off):
        """Return (typ, payload) of the valid record at (b, off), or None when damaged."""
        hdr = self._read(b, off, 4)
        n = _header_ok(hdr + b"\x00" * 4, 0, 8 + 0xFFFF)
        if n < 0 or off + 8 + n > self.B:
            return None
        rec = self._read(b, off, 8 + n)
        if not _rec_ok(rec, 0, n):
            return None
        return rec[0], rec[4:4 + n]

    def _try(self, b, off, oid, state):
        r = self._read_record(b, off)
        if r is None or r[0] != T_OBJ:
            state[0] = True
            return None
        raw = bytes(r[1])
        if hashlib.sha256(raw).digest() != oid:
            return None
        return raw

    def _find(self, oid, min_seq=0):
        """Return ``(raw, block, offset)`` of object ``oid`` or ``(None, corrupt_seen, 0)``."""
        state = [False]
        pre = bytes(oid[:4])
        for o, raw in self._pending:
            if o == oid:
                return raw, None, 0
        hit = self._cache.get(oid)
        if hit is not None and (self.seq[hit[0]] or 0) >= max(min_seq, 1):
            raw = self._try(hit[0], hit[1], oid, state)
            if raw is not None:
                return raw, hit[0], hit[1]
        order = self._log_order()
        for i in range(len(order) - 1, -1, -1):
            b = order[i]
            if self.seq[b] < min_seq:
                break
            if b == self.head and not self.head_sealed:
                found = self._find_in(b, self.head_prefix, self.head_offs, pre, oid, state)
            else:
                found = self._find_block(b, pre, oid, state)
            if found is not None:
                if len(self._cache) >= CACHE_MAX:
                    self._cache.clear()
                self._cache[oid] = (b, found[1])
                return found[0], b, found[1]
        return None, state[0], 0

    def _find_in(self, b, prefixes, offs, pre, oid, state):
        i = prefixes.find(pre)
        while i >= 0:
            if i % 4 == 0:
                off = offs[i // 4]
                raw = self._try(b, off, oid, state)
                if raw is not None:
                    return raw, off
            i = prefixes.find(pre, i + 1)
        return None

    def _summary(self, b):
        """Return (prefixes, offsets) from block b's footer + SUM record, or None."""
        foot = self._read(b, self.foot, 12)
        f = bytes(foot)
        if f[:4] != MAGIC_FOOT or struct.unpack("<I", f[8:12])[0] != crc32(f[:8]):
            return None
        off = struct.unpack("<I", f[4:8])[0]
        r = self._read_record(b, off)
        if r is None or r[0] != T_SUM:
            return None
        p = r[1]
        k = len(p) // 6
        offs = [p[4 * k + 2 * j] | (p[4 * k + 2 * j + 1] << 8) for j in range(k)]
        return bytes(p[:4 * k]), offs

    def _find_block(self, b, pre, oid, state):
        s = self._summary(b)
        if s is not None:
            return self._find_in(b, s[0], s[1], pre, oid, state)
        buf = self._read(b, 0, self.B)
        for pos, typ, n, st in scan_records(buf, self.data_start, self._region_end(b, buf), self.P):
            if st == OK and typ == T_OBJ:
                raw = bytes(buf[pos + 4:pos + 4 + n])
                if hashlib.sha256(raw).digest() == oid:
                    return raw, pos
            elif st == DAMAGED and (typ is None or typ == T_OBJ):
                state[0] = True
        return None

    def get_object(self, oid):
        oid = bytes(oid)
        raw, b, _ = self._find(oid)
        if raw is not None:
            return raw
        if b or self.lost:
            raise StorageError("object %s is damaged on flash" % binascii.hexlify(oid).decode())
        return None

    def has_object(self, oid):
        return self._find(bytes(oid))[0] is not None

    def add_object(self, raw):
        raw = bytes(raw)
        oid = hashlib.sha256(raw).digest()
        if self._find(oid)[0] is None:
            self._pending.append((oid, raw))
            self._pending_bytes += len(raw) + 8
            if self._pending_bytes > PENDING_MAX:
                self._flush_objects()
        return oid

    def _flush_objects(self):
        if not self._pending:
            return
        if self._orphans is None:
            self._orphans = self.next_seq - (0 if self.head_sealed else 1)
        self._write([])

    def iterate_objects(self):
        """Yield every valid object id once (a block at a time; duplicates skipped)."""
        for oid, raw in list(self._pending):
            yield oid
        for b in self._log_order():
            buf = self._read(b, 0, self.B)
            for pos, typ, n, st in scan_records(buf, self.data_start, self._region_end(b, buf), self.P):
                if st == OK and typ == T_OBJ:
                    oid = hashlib.sha256(bytes(buf[pos + 4:pos + 4 + n])).digest()
                    r = self._find(oid)
                    if r[1] == b and r[2] == pos:
                        yield oid

    # -- refs and batches ----------------------------------------------------------

    def update_ref(self, name, oid):
        nb = name.encode()
        if len(nb) > 255:
            raise StorageError("ref name too long")
        rec = encode_record(T_REF, bytes((len(nb),)) + nb + (oid or b""))
        self._write([(None, rec)])
        if oid is None:
            self._refs.pop(name, None)
        else:
            self._refs[name] = oid
        self._orphans = None

    def flush(self):
        """Make pending objects durable (a ref update does this too)."""
        self._flush_objects()
        self.dev.ioctl(3, 0)

    def _write(self, tail):
        recs = [(oid, encode_record(T_OBJ, raw)) for oid, raw in self._pending] + tail
        total = sum(len(r) for o, r in recs)
        usable = self.foot - self.data_start - self._sum_size(8)
        need = total // usable + 2
        if not self._compacting and self.free_blocks() - need < self._reserve():
            self.compact()
            if self.free_blocks() - need < self.live_blocks + 2:
                raise DeviceFull("device full: %d free blocks" % self.free_blocks())
        try:
            self._program_batch(recs)
        except _NoSpace:
            raise DeviceFull("device full")
        self.dev.ioctl(3, 0)
        self._pending = []
        self._pending_bytes = 0

    # -- compaction ----------------------------------------------------------------

    def _reserve(self):
        """Free blocks kept back so that a compaction can always copy the live data."""
        return max(self.live_blocks + 2, self.N // 2)

    def compact(self):
        """Copy what the refs reach (history per ``keep``) and the pending objects'
        references into fresh blocks, then erase the old blocks oldest first."""
        if not self.head_sealed:
            self._seal_head()
        start = self.next_seq
        self._cache.clear()
        self._compacting = True
        self._start_seq = start
        self.compaction_lost = 0
        self._cbuf = []
        self._cbytes = 0
        try:
            for name in sorted(self._refs):
                self._copy(self._refs[name], self.keep)
            for oid, raw in self._pending:
                for c in references(raw):
                    self._copy(c, self.keep)
            if self._orphans is not None:
                self._copy_orphans(self._orphans, start)
            live = sum(1 for s in self.seq if s is not None and s >= start) + 1
            recs = self._cbuf + [(None, encode_record(T_SNAP_BEGIN, b""))]
            names = sorted(self._refs)
            for name in names:
                nb = name.encode()
                recs.append((None, encode_record(T_REF, bytes((len(nb),)) + nb + self._refs[name])))
            recs.append((None, encode_record(T_SNAP_END, struct.pack("<HHH", len(names), live, self.keep or 0))))
            self._cbuf = []
            self._program_batch(recs)
        except _NoSpace:
            self._cbuf = []
            self._compacting = False
            for b in range(self.N):
                if self.seq[b] is not None and self.seq[b] >= start:
                    self._erase(b)
            order = self._log_order()
            self._reset_head(order[-1])
            self.head_sealed = True
            self._cache.clear()
            raise DeviceFull("device full: live data does not fit in the free blocks")
        self._compacting = False
        self._orphans = None
        self.dev.ioctl(3, 0)
        old = [(self.seq[b], b) for b in range(self.N) if self.seq[b] is not None and self.seq[b] < start]
        old.sort()
        for s, b in old:
            self._erase(b)
        self.live_blocks = sum(1 for s in self.seq if s is not None)
        self._cache.clear()
        self.compactions += 1
        self.dev.ioctl(3, 0)

    def _emit(self, oid, raw):
        self._cbuf.append((oid, encode_record(T_OBJ, raw)))
        self._cbytes += len(raw) + 8
        if self._cbytes > PENDING_MAX:
            recs = self._cbuf
            self._cbuf = []
            self._cbytes = 0
            self._program_batch(recs)

    def _copied(self, oid, start):
        for o, r in self._cbuf:
            if o == oid:
                return True
        return self._find(oid, start)[0] is not None

    def _copy(self, root, depth):
        stack = [(root, depth, None)]
        while stack:
            oid, d, raw = stack.pop()
            if raw is not None:
                self._emit(oid, raw)
                continue
            if self._copied(oid, self._cstart()):
                continue
            try:
                raw = self._find(oid)[0]
            except StorageError:
                raw = None
            if raw is None:
                self.compaction_lost += 1
                continue
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

    def _cstart(self):
        return self._start_seq

    def _copy_orphans(self, first_seq, start):
        for b in self._log_order():
            s = self.seq[b]
            if s < first_seq or s >= start:
                continue
            buf = self._read(b, 0, self.B)
            found = []
            for pos, typ, n, st in scan_records(buf, self.data_start, self._region_end(b, buf), self.P):
                if st == OK and typ == T_OBJ:
                    found.append(hashlib.sha256(bytes(buf[pos + 4:pos + 4 + n])).digest())
            buf = None
            for oid in found:
                self._copy(oid, self.keep)

    # -- fsck ----------------------------------------------------------------------

    def fsck(self, repair=False):
        """Check every record's CRC, every object's id, every ref's reachability.

        Returns a dict: ``records``, ``objects``, ``damaged`` (list of strings),
        ``torn`` (interrupted writes at the log's end, harmless), ``refs`` (name ->
        "ok" or what is missing), ``missing``, ``clean`` (bool). With ``repair``,
        a damaged store is compacted (only verified objects are copied, damaged
        records and summaries are dropped); refs are never guessed."""
        rep = {"records": 0, "objects": 0, "damaged": list(self.damage), "torn": 0,
               "refs": {}, "missing": 0, "pruned": 0}
        for b in self._log_order():
            buf = self._read(b, 0, self.B)
            end = self._region_end(b, buf)
            for pos, typ, n, st in scan_records(buf, self.data_start, end, self.P):
                if st == OK:
                    rep["records"] += 1
                    if typ == T_OBJ:
                        rep["objects"] += 1
                elif st == TORN:
                    rep["torn"] += 1
                else:
                    msg = "block %d offset %d: damaged record" % (b, pos)
                    if msg not in rep["damaged"]:
                        rep["damaged"].append(msg)
            buf = None
        if not self.refs_damaged:
            for name in sorted(self._refs):
                rep["refs"][name] = self._check_reach(self._refs[name], rep)
        else:
            rep["refs"] = None
        rep["clean"] = not rep["damaged"] and rep["missing"] == 0 and not self.refs_damaged
        if repair and not rep["clean"] and not self.refs_damaged:
            self.compact()
            self.damage = []
            self.lost = False
        return rep

    def _check_reach(self, root, rep):
        """Walk ``root``'s closure with a bounded visited set; return "ok" or a problem."""
        seen = {}
        stack = [(root, self.keep, 0)]
        problem = "ok"
        while stack:
            oid, d, dist = stack.pop()
            if oid in seen:
                continue
            if len(seen) >= 256:
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
