"""A FlashStore reader written from docs/SPEC.md "Flash layout" alone: it proves the
spec. The reader (``SpecReader``) uses only ``struct``, ``zlib.crc32`` and
``hashlib``; block_backend is used only to write the images it reads and to
check its answers.

It learns the geometry from the image (format header), orders the log by the
alloc headers' seqs, scans each block's records, replays the ref updates and
snapshots, and finds objects (full records and delta chains).
"""

import hashlib
import struct
import zlib

import pytest

# -- the reader: docs/SPEC.md only ---------------------------------------------------


def crc32(b):
    return zlib.crc32(bytes(b)) & 0xFFFFFFFF


def roundup(x, p):
    return (x + p - 1) // p * p


class SpecError(Exception):
    pass


class SpecReader:
    """Reads a Sprig flash image (format version 2)."""

    def __init__(self, image):
        self.img = bytes(image)
        self._geometry()
        self._log()
        self.refs = {}
        self.objects = {}  # id -> (block, offset) of a full object record
        self.deltas = []  # (block, offset, prefix) of delta records
        self.seq_block = {seq: b for seq, b in self.log}
        self.stale_below = 0
        for seq, b in self.log:
            self._replay(b)
        # blocks below the newest complete snapshot's first_seq are stale: not read
        stale = {b for seq, b in self.log if seq < self.stale_below}
        self.objects = {k: v for k, v in self.objects.items() if v[0] not in stale}
        self.deltas = [d for d in self.deltas if d[0] not in stale]
        self.seq_block = {seq: b for seq, b in self.seq_block.items() if b not in stale}

    def _format_header(self, off):
        h = self.img[off:off + 24]
        if len(h) < 24 or h[:4] != b"SPRE" or struct.unpack("<I", h[20:24])[0] != crc32(h[:20]):
            return None
        ec, version, prog, bsize, bcount = struct.unpack("<IHHII", h[4:20])
        if version != 2:
            raise SpecError("format version %d" % version)
        return prog, bsize, bcount

    def _geometry(self):
        g = self._format_header(0)
        at = 0
        while g is None:  # block 0's header unreadable: search for another one
            at = self.img.find(b"SPRE", at + 1)
            if at < 0:
                raise SpecError("no format header")
            g = self._format_header(at)
            if g is not None and at % g[1]:
                g = None
        self.P, self.B, self.N = g
        if len(self.img) != self.B * self.N:
            raise SpecError("image of %d bytes, header says %d x %d" % (len(self.img), self.N, self.B))
        self.E = roundup(24, self.P)
        self.H = roundup(12, self.P)

    def block(self, b):
        return self.img[b * self.B:(b + 1) * self.B]

    def _header(self, buf, magic):
        if buf[:4] != magic or struct.unpack("<I", buf[8:12])[0] != crc32(buf[:8]):
            return None
        return struct.unpack("<I", buf[4:8])[0]

    def _log(self):
        log = []
        for b in range(self.N):
            blk = self.block(b)
            seq = self._header(blk[self.E:self.E + 12], b"SPRA")
            if seq is not None:
                log.append((seq, b))
        if not log:
            raise SpecError("not formatted")
        self.log = sorted(log)

    def region_end(self, blk):
        off = self._header(blk[self.B - self.H:self.B - self.H + 12], b"SPRF")
        if off is None or not self.E + self.H <= off <= self.B - self.H:
            return self.B - self.H
        return off

    def records(self, b):
        """Yield (offset, type, payload) of block b's valid records, in order."""
        blk = self.block(b)
        pos = self.E + self.H
        end = self.region_end(blk)
        while pos < end:
            if blk[pos] == 0xFF:
                pos = roundup(pos + 1, self.P)
                continue
            typ, n, hcrc = blk[pos], blk[pos + 1] | blk[pos + 2] << 8, blk[pos + 3]
            ok = (1 <= typ <= 10 and crc32(blk[pos:pos + 3]) & 0xFF == hcrc and pos + 8 + n <= end
                  and struct.unpack("<I", blk[pos + 4 + n:pos + 8 + n])[0] == crc32(blk[pos:pos + 4 + n]))
            if not ok:
                pos += 1  # torn (the log's end: erased after) or damage: resynchronise
                continue
            yield pos, typ, blk[pos + 4:pos + 4 + n]
            if typ == 5:  # a summary ends the block's records
                return
            pos += 8 + n

    def _replay(self, b):
        names = None
        first_seq = 0
        for pos, typ, p in self.records(b):
            if typ == 1:
                self.objects.setdefault(hashlib.sha256(p).digest(), (b, pos))
            elif typ == 6:
                self.deltas.append((b, pos, p[:4]))
            elif typ == 2:
                ln = p[0]
                name = p[1:1 + ln].decode()
                oid = p[1 + ln:]
                if oid:
                    self.refs[name] = oid
                else:
                    self.refs.pop(name, None)
                if names is not None:
                    names.append(name)
            elif typ == 3:
                names = []
                first_seq = struct.unpack("<I", p)[0] if len(p) == 4 else 0
            elif typ == 4:
                count = struct.unpack("<HHH", p)[0]
                if names is not None and len(names) == count:
                    self.refs = {k: v for k, v in self.refs.items() if k in names}
                    self.stale_below = first_seq
                names = None

    def record_at(self, b, off):
        blk = self.block(b)
        n = blk[off + 1] | blk[off + 2] << 8
        assert struct.unpack("<I", blk[off + 4 + n:off + 8 + n])[0] == crc32(blk[off:off + 4 + n])
        return blk[off], blk[off + 4:off + 4 + n]

    def rebuild(self, b, off, depth=0):
        typ, p = self.record_at(b, off)
        if typ == 1:
            return p
        assert typ == 6 and depth <= 32
        base_seq, base_off, d, length = struct.unpack("<IHBH", p[4:13])
        base = self.rebuild(self.seq_block[base_seq], base_off, depth + 1)
        out = bytearray()
        pos = 0
        q = 13
        while q < len(p):
            o, dl, il = struct.unpack("<HHH", p[q:q + 6])
            out += base[pos:o] + p[q + 6:q + 6 + il]
            pos = o + dl
            q += 6 + il
        out += base[pos:]
        assert len(out) == length
        return bytes(out)

    def get(self, oid):
        if oid in self.objects:
            return self.record_at(*self.objects[oid])[1]
        for b, off, pre in reversed(self.deltas):
            if pre == oid[:4]:
                raw = self.rebuild(b, off)
                if hashlib.sha256(raw).digest() == oid:
                    return raw
        return None


# -- images written by block_backend ------------------------------------------------


def store_image(block_size, block_count, prog, keep, commits, compact=False):
    from block_backend.devices import RamFlash
    from block_backend.flashstore import FlashStore
    from portable_core import retention
    from portable_core.store import Repo

    dev = RamFlash(block_size, block_count, prog)
    fs = FlashStore.format(dev, keep=keep, retention=retention)
    repo = Repo(fs.objects, fs.refs, author="t", clock=None)
    main = repo.main()
    main.transaction(lambda t: [t.set("cfg/k%02d" % i, "v%d" % i) for i in range(40)], message="fill")
    main.clone("dev")
    for i in range(commits):
        b = main if i % 3 else repo.branch("dev")
        b.set("cfg/k%02d" % (i % 40), "c%d" % i)
    repo.branch("dev").clone("gone")
    fs.refs.remove("heads/gone")  # a ref update without an id: removed
    if compact:
        fs.compact()
        main.set("after", 1)
    return dev, fs


@pytest.mark.parametrize("geometry", [(4096, 32, 16, None, 40, False), (2048, 48, 16, 2, 60, True),
                                      (2048, 48, 1, 2, 40, True), (8192, 16, 256, 3, 30, False)])
def test_reader_from_the_spec_finds_the_refs_and_objects(geometry):
    dev, fs = store_image(*geometry)
    r = SpecReader(dev.snapshot())
    assert (r.B, r.N, r.P) == geometry[:3]
    assert sorted(r.refs) == fs.refs.list()
    for name in r.refs:
        assert r.refs[name] == fs.refs.get(name)
        head = r.get(r.refs[name])
        assert head is not None and head == fs.objects.get(r.refs[name])
        assert head[:1] == b"C"
    found = 0
    for oid in fs.objects.iterate():
        raw = r.get(oid)
        assert raw == fs.objects.get(oid), oid.hex()
        found += 1
    assert found > 40
    assert r.deltas, "the image should hold delta records"


def test_reader_learns_the_geometry_when_block_0_header_is_damaged():
    dev, fs = store_image(2048, 24, 16, 2, 20)
    img = bytearray(dev.snapshot())
    img[5] ^= 0x10  # block 0's erase count: its format header's CRC fails
    r = SpecReader(bytes(img))
    assert (r.B, r.N, r.P) == (2048, 24, 16)
    assert r.refs == {name: fs.refs.get(name) for name in fs.refs.list()}
