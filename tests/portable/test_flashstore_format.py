"""FlashStore: the format record (every block's erase header states the format
version, program unit, block size and block count), open refusing an image of
another version or geometry, and the format's size limits checked at format and
open. Portable: CPython, MicroPython unix, QEMU firmware (16 KiB devices)."""

import gc
import struct

from block_backend.devices import RamFlash
from block_backend.errors import NotFormatted
from block_backend.formats import FormatMismatch, GeometryError
from block_backend.flashstore import FlashStore
from portable_core import retention
from block_backend.records import crc32
from portable_core.storage import StorageError
from portable_support import raises, read_block, repo_on

BS = 1024
BC = 16
PS = 16


def store():
    """Return (device, main's head, erase counts) of a store with a few commits."""
    dev = RamFlash(BS, BC, PS)
    fs = FlashStore.format(dev, keep=2, retention=retention)
    main = repo_on(fs).main()
    for i in range(30):
        main.set("k%d" % (i % 7), "value %d" % i)
    gc.collect()
    return dev, main.head(), fs.erase_counts()


class View:
    """The bytes of device ``dev`` seen as another geometry (no copy: the
    firmware's heap holds one 16 KiB image); blocks past ``dev``'s end read erased."""

    def __init__(self, dev, block_size, block_count, prog_size=PS):
        self.dev = dev
        self.block_size = block_size
        self.block_count = block_count
        self.prog_size = prog_size

    def readblocks(self, b, buf, off=0):
        addr = b * self.block_size + off
        size = self.dev.block_size
        mv = memoryview(buf)
        pos = 0
        while pos < len(buf):
            db = (addr + pos) // size
            doff = (addr + pos) % size
            m = min(len(buf) - pos, size - doff)
            if db < BC:
                self.dev.readblocks(db, mv[pos:pos + m], doff)
            else:
                for i in range(pos, pos + m):
                    buf[i] = 0xFF
            pos += m

    def writeblocks(self, b, buf, off=0):
        raise AssertionError("open programmed an image it should refuse")

    def ioctl(self, op, arg):
        if op == 4:
            return self.block_count
        if op == 5:
            return self.block_size
        if op == 6:
            raise AssertionError("open erased an image it should refuse")
        return 0


class Plain:
    """A block device without a ``prog_size`` attribute (as MicroPython's native
    flash objects), over ``inner``."""

    def __init__(self, inner):
        self.inner = inner

    def readblocks(self, b, buf, off=0):
        self.inner.readblocks(b, buf, off)

    def writeblocks(self, b, buf, off=0):
        self.inner.writeblocks(b, buf, off)

    def ioctl(self, op, arg):
        return self.inner.ioctl(op, arg)


class Geometry:
    """A device that only states a geometry (its blocks read erased); format and
    open must refuse it before touching it."""

    def __init__(self, block_size, block_count, prog_size=16):
        self.block_size = block_size
        self.block_count = block_count
        self.prog_size = prog_size

    def readblocks(self, b, buf, off=0):
        for i in range(len(buf)):
            buf[i] = 0xFF

    def writeblocks(self, b, buf, off=0):
        raise AssertionError("programmed a device outside the format's limits")

    def ioctl(self, op, arg):
        if op == 4:
            return self.block_count
        if op == 5:
            return self.block_size
        if op == 6:
            raise AssertionError("erased a device outside the format's limits")
        return 0


def test_every_block_states_the_format():
    dev, head, counts = store()
    for b in range(BC):
        h = read_block(dev, b, 0, 32)
        assert h[:4] == b"SPRE", b
        ec, version, prog, size, count = struct.unpack("<IHHII", h[4:20])
        assert (version, prog, size, count) == (2, PS, BS, BC), (b, version, prog, size, count)
        assert ec == counts[b] and ec >= 1
        assert struct.unpack("<I", h[20:24])[0] == crc32(h[:20])
        assert h[24:32] == b"\xff" * 8  # padded to the prog unit
    # the alloc header follows the format header
    assert [b for b in range(BC) if read_block(dev, b, 32, 4) == b"SPRA"], "no block in the log"


def test_open_refuses_another_block_size():
    dev, head, counts = store()
    e = raises(FormatMismatch, FlashStore.open, View(dev, 2 * BS, BC // 2), retention=retention)
    assert "image has 1024-byte blocks, device says 2048" in str(e), e
    e = raises(FormatMismatch, FlashStore.open, View(dev, BS // 2, 2 * BC), retention=retention)
    assert "1024-byte blocks, device says 512" in str(e), e
    assert isinstance(e, StorageError)
    fs = FlashStore.open(dev, retention=retention)  # the image itself is untouched
    assert repo_on(fs).main().head() == head and fs.fsck()["clean"]


def test_open_refuses_an_image_cut_short_or_grown():
    dev, head, counts = store()
    for n in (BC - 1, BC - 4, BC // 2 + 1, BC + 4):
        e = raises(FormatMismatch, FlashStore.open, View(dev, BS, n), retention=retention)
        assert "image has 16 blocks, device says %d" % n in str(e), e


def test_open_refuses_another_prog_unit_and_learns_it_from_the_image():
    dev = RamFlash(BS, BC, 8)
    fs = FlashStore.format(Plain(dev), prog_size=8, retention=retention)
    head = repo_on(fs).main().set("a", 1)
    fs = FlashStore.open(Plain(dev), retention=retention)  # no prog_size from the device or the caller
    assert fs.P == 8 and repo_on(fs).main().head() == head
    assert repo_on(fs).main().set("b", 2) is not None
    e = raises(FormatMismatch, FlashStore.open, Plain(dev), prog_size=16, retention=retention)
    assert "image has a 8-byte program unit, device says 16" in str(e), e
    e = raises(FormatMismatch, FlashStore.open, View(dev, BS, BC, 16), retention=retention)
    assert "program unit" in str(e), e


def test_open_refuses_a_version_1_image():
    dev, head, counts = store()
    for b in range(BC):  # version 1: "SPRE" u32 erase_count u32 crc32, padded
        h = b"SPRE" + struct.pack("<I", counts[b])
        dev.write_raw(b * BS, h + struct.pack("<I", crc32(h)) + b"\xff" * 12)
    e = raises(FormatMismatch, FlashStore.open, dev, retention=retention)
    assert "image has format version 1, this reader reads version 2" in str(e), e
    fs = FlashStore.format(dev, retention=retention)  # formatting keeps the wear of version 1 headers
    assert fs.erase_counts() == [c + 1 for c in counts]


def test_open_of_an_erased_device_is_not_formatted():
    raises(NotFormatted, FlashStore.open, RamFlash(BS, BC, PS), retention=retention)


def test_geometry_outside_the_limits_is_refused_at_format_and_open():
    cases = (
        (Geometry(131072, 8), "block size 131072"),
        (Geometry(256, 64), "block size 256"),
        (Geometry(1000, 16, 16), "not a multiple of the program unit"),
        (Geometry(1024, 16, 12), "program unit 12"),
        (Geometry(1024, 16, 512), "program unit 512"),
        (Geometry(1024, 16, 128), "at least 16 units"),
        (Geometry(1024, 5), "block count 5"),
        (Geometry(1024, 70000), "block count 70000"),
    )
    for dev, what in cases:
        for fn in (FlashStore.format, FlashStore.open):
            e = raises(GeometryError, fn, dev)
            assert what in str(e), (what, e)
            assert isinstance(e, StorageError)


def test_limits_of_the_format_work():
    # the smallest blocks, the fewest blocks, the largest unit, a unit of one byte
    for size, count, prog in ((512, 6, 16), (4096, 6, 256), (1024, 8, 1)):
        dev = RamFlash(size, count, prog)
        fs = FlashStore.format(dev, keep=1, retention=retention)
        main = repo_on(fs).main()
        for i in range(12):
            main.set("k%d" % (i % 3), i)
        fs = FlashStore.open(dev, retention=retention)
        assert repo_on(fs).main().get("k2") == 11 and fs.fsck()["clean"], (size, count, prog)
        dev = fs = main = None
        gc.collect()


def test_record_constants_of_the_readers_equal_the_format_table():
    # log.py and index.py name record types and scan statuses with their own
    # ``const`` (no heap on MicroPython, where such a name is compiled in and is
    # no module attribute): where the names exist (CPython), they are records.py's
    from block_backend import index, log, records

    checked = 0
    for mod in (log, index):
        for name in ("T_OBJ", "T_REF", "T_SNAP_BEGIN", "T_SNAP_END", "T_SUM", "T_DELTA",
                     "T_BAD", "T_SEQ", "T_CHUNK", "T_MANIFEST", "OK", "TORN", "DAMAGED"):
            mine = getattr(mod, "_" + name, None)
            if mine is not None:
                assert mine == getattr(records, name), (mod.__name__, name)
                checked += 1
    assert checked == 0 or checked >= 19, checked
