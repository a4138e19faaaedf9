"""RamFlash: MicroPython's block device protocol, NOR rules, errors, counters, littlefs.

Portable: runs on CPython, the MicroPython unix port and the QEMU firmware.
Devices are small (the firmware has a 140 KiB heap).
"""

from block_backend.devices import FlashError, FlashIOError, RamFlash
from block_backend.prng import XorShift
from portable_core.compat import runtime_name
from portable_support import raises as _raises, read_block as _read

BS = 512
BC = 16
PS = 16


def _dev(**kw):
    return RamFlash(block_size=kw.pop("block_size", BS), block_count=BC, prog_size=PS, **kw)


def test_geometry_and_ioctl():
    dev = _dev()
    assert (dev.block_size, dev.block_count, dev.prog_size) == (BS, BC, PS)
    assert dev.size == BS * BC
    assert dev.ioctl(1, 0) == 0
    assert dev.ioctl(4, 0) == BC
    assert dev.ioctl(5, 0) == BS
    assert dev.ioctl(3, 0) == 0
    assert dev.ioctl(2, 0) == 0
    assert dev.ioctl(99, 0) is None
    if runtime_name() != "micropython-qemu":  # the defaults need 256 KiB of RAM
        big = RamFlash()
        assert (big.ioctl(4, 0), big.ioctl(5, 0), big.prog_size) == (64, 4096, 16)


def test_fresh_device_is_erased():
    dev = _dev()
    assert dev.snapshot() == b"\xff" * (BS * BC)
    assert _read(dev, BC - 1, BS - 3, 3) == b"\xff\xff\xff"
    assert dev.stats()["erases"] == 0


def test_program_read_any_offset():
    dev = _dev()
    data = bytes(range(32))
    dev.writeblocks(3, data, 16)
    assert _read(dev, 3, 16, 32) == data
    assert _read(dev, 3, 17, 5) == data[1:6]  # reads need no alignment
    assert _read(dev, 3, 0, 16) == b"\xff" * 16
    assert _read(dev, 2, BS - 1, 1) == b"\xff"
    assert dev.read_raw(3 * BS + 16, 32) == data
    mv = memoryview(bytearray(8))  # a memoryview is a fine read buffer
    dev.readblocks(3, mv, 20)
    assert bytes(mv) == data[4:12]


def test_program_two_args_is_offset_zero_no_erase():
    dev = _dev()
    dev.writeblocks(1, b"\x0f" * BS)
    assert _read(dev, 1, 0, BS) == b"\x0f" * BS
    assert dev.stats()["erases"] == 0


def test_erase_sets_ff_whole_block_only():
    dev = _dev()
    dev.writeblocks(4, b"\x00" * BS, 0)
    dev.writeblocks(5, b"\x00" * PS, 0)
    assert dev.ioctl(6, 4) == 0
    assert _read(dev, 4, 0, BS) == b"\xff" * BS
    assert _read(dev, 5, 0, PS) == b"\x00" * PS
    dev.erase(5)
    assert dev.snapshot() == b"\xff" * (BS * BC)


def test_strict_refuses_zero_to_one_and_keeps_cells():
    dev = _dev()
    dev.writeblocks(0, b"\x0f" * PS, 0)
    exc = _raises(FlashError, dev.writeblocks, 0, b"\xf0" * PS, 0)
    assert isinstance(exc, ValueError)
    assert "0 -> 1" in str(exc.args[0])
    assert _read(dev, 0, 0, PS) == b"\x0f" * PS
    dev.writeblocks(0, b"\x0f" * PS, 0)  # the same data again: no bit rises
    dev.writeblocks(0, b"\x03" * PS, 0)  # clearing more bits is a valid program
    assert _read(dev, 0, 0, PS) == b"\x03" * PS


def test_lenient_mode_ands():
    dev = _dev(strict=False)
    dev.writeblocks(0, b"\x0f" * PS, 0)
    dev.writeblocks(0, b"\xf5" * PS, 0)
    assert _read(dev, 0, 0, PS) == b"\x05" * PS
    half = b"\xaa" * 8 + b"\xff" * 8
    dev.writeblocks(1, half, 0)
    dev.writeblocks(1, b"\x55" * PS, 0)
    assert _read(dev, 1, 0, PS) == b"\x00" * 8 + b"\x55" * 8


def test_long_programs_check_every_cell_before_changing_any():
    dev = _dev()
    dev.writeblocks(0, b"\x0f" * 96 + b"\x00" * 16, 0)
    data = b"\x0e" * 80 + b"\x11" + b"\x0e" * 15 + b"\x00" * 16  # byte 80 would rise
    exc = _raises(FlashError, dev.writeblocks, 0, data, 0)
    assert "at byte 80" in str(exc.args[0]), exc.args
    assert _read(dev, 0, 0, 112) == b"\x0f" * 96 + b"\x00" * 16  # nothing changed
    lenient = _dev(strict=False)
    lenient.writeblocks(0, b"\x0f" * 96 + b"\x00" * 16, 0)
    lenient.writeblocks(0, data, 0)
    assert _read(lenient, 0, 0, 112) == b"\x0e" * 80 + b"\x01" + b"\x0e" * 15 + b"\x00" * 16
    lenient.writeblocks(1, b"\xf0" * 300 + b"\xff" * 20, 0)
    lenient.writeblocks(1, b"\x3c" * 320, 0)
    assert _read(lenient, 1, 0, 320) == b"\x30" * 300 + b"\x3c" * 20


def test_without_counters_the_rules_hold_and_stats_are_refused():
    dev = _dev(counters=False)
    dev.writeblocks(3, b"\x00" * PS, PS)
    _raises(FlashError, dev.writeblocks, 3, b"\xff" * PS, PS)
    dev.erase(3)
    assert _read(dev, 3, 0, BS) == b"\xff" * BS
    for call in (dev.stats, dev.reset_stats):
        exc = _raises(FlashError, call)
        assert "counters=False" in str(exc.args[0])
    _raises(FlashError, dev.block_stats, 0)


def test_alignment_and_bounds_errors():
    dev = _dev()
    for args in (
        (0, b"\x00" * PS, 8),  # misaligned offset
        (0, b"\x00" * 8, 0),  # misaligned length
        (0, b"\x00" * PS, BS),  # past the block end
        (0, b"\x00" * (BS + PS), 0),  # longer than a block
        (BC, b"\x00" * PS, 0),  # no such block
        (-1, b"\x00" * PS, 0),
        (0, b"\x00" * PS, -PS),
    ):
        exc = _raises(FlashError, dev.writeblocks, *args)
        assert isinstance(exc, ValueError) and not isinstance(exc, OSError)
    _raises(FlashError, dev.readblocks, 0, bytearray(2), BS - 1)
    _raises(FlashError, dev.readblocks, BC, bytearray(1), 0)
    _raises(FlashError, dev.erase, BC)
    _raises(FlashError, dev.ioctl, 6, -1)
    _raises(FlashError, dev.restore, b"\xff")
    assert dev.snapshot() == b"\xff" * (BS * BC)  # nothing landed
    s = dev.stats()
    assert s["programs"] == s["reads"] == s["erases"] == 0


def test_bad_geometry():
    _raises(FlashError, RamFlash, 500, 4, 16)  # block not a multiple of prog_size
    _raises(FlashError, RamFlash, 512, 0, 16)
    _raises(FlashError, RamFlash, 512, 4, 16, True, b"\xff" * 100)


def test_prog_size_one():
    dev = RamFlash(block_size=64, block_count=2, prog_size=1)
    dev.writeblocks(1, b"\x12", 63)
    dev.writeblocks(1, b"\x34\x56\x78", 5)
    assert dev.read_raw(64 + 63, 1) == b"\x12"
    assert _read(dev, 1, 4, 5) == b"\xff\x34\x56\x78\xff"


def test_zero_length_calls_do_nothing():
    dev = _dev()
    dev.writeblocks(0, b"", 0)
    dev.readblocks(0, bytearray(0), BS)
    s = dev.stats()
    assert s["programs"] == 0 and s["reads"] == 0


def test_counters():
    dev = _dev()
    dev.erase(2)
    dev.erase(2)
    dev.erase(7)
    dev.writeblocks(2, b"\x00" * 48, 16)
    dev.writeblocks(2, b"\x00" * 16, 256)
    dev.writeblocks(7, b"\x00" * 32, 0)
    dev.readblocks(2, bytearray(10), 3)
    dev.readblocks(5, bytearray(BS), 0)
    s = dev.stats()
    assert s == {
        "reads": 2,
        "read_bytes": 10 + BS,
        "programs": 3,
        "prog_bytes": 96,
        "erases": 3,
        "max_erases": 2,
    }, s
    b2 = dev.block_stats(2)
    assert b2 == {"reads": 1, "read_bytes": 10, "programs": 2, "prog_bytes": 64, "erases": 2}, b2
    assert dev.block_stats(0)["erases"] == 0
    dev.snapshot()  # raw access is not counted
    dev.read_raw(0, 4)
    assert dev.stats() == s
    dev.reset_stats()
    assert dev.stats() == {
        "reads": 0, "read_bytes": 0, "programs": 0, "prog_bytes": 0, "erases": 0, "max_erases": 0
    }


def test_snapshot_restore_and_image():
    dev = _dev()
    dev.writeblocks(1, b"\xa5" * 64, 64)
    snap = dev.snapshot()
    assert isinstance(snap, bytearray) and len(snap) == BS * BC
    dev.erase(1)
    dev.writeblocks(9, b"\x00" * PS, 0)
    dev.restore(snap)
    assert dev.snapshot() == snap
    copy = _dev(image=snap)
    assert _read(copy, 1, 64, 64) == b"\xa5" * 64
    copy.erase(1)  # the copy is independent
    assert _read(dev, 1, 64, 1) == b"\xa5"


def test_flash_io_error_is_oserror_eio():
    exc = FlashIOError("bad block 3")
    assert isinstance(exc, OSError)
    assert exc.errno == 5
    assert exc.args[1] == "bad block 3"


def test_xorshift_same_numbers_everywhere():
    r = XorShift(1)
    assert [r.next32() for _ in range(3)] == [270369, 67634689, 2647435461]
    r = XorShift(12345)
    assert r.below(1000) == 330
    assert r.bytes(4) == b"\xaf\xa0\xea\xd3"
    assert XorShift(0).next32() != 0  # a zero seed does not stall


def _vfslfs2():
    try:
        import vfs

        return vfs.VfsLfs2
    except (ImportError, AttributeError):
        return None


def test_littlefs_mounts_ramflash():
    """VfsLfs2 formats, writes, remounts and reads a RamFlash where the runtime has it;
    elsewhere the littlefs call pattern (geometry, erase, offset programs) is replayed."""
    from block_backend.faults import FaultyFlash

    lfs = _vfslfs2()
    runtime = runtime_name()
    if runtime == "micropython-unix":
        assert lfs is not None, "the unix port is built with VfsLfs2"
    dev = _dev()
    rec = FaultyFlash(dev, record=True)
    if lfs is not None:
        lfs.mkfs(rec)
        fs = lfs(rec)
        with fs.open("notes.txt", "w") as f:
            f.write("sprig " * 200)
        fs.mkdir("d")
        with fs.open("d/x.bin", "wb") as f:
            f.write(bytes(range(256)))
        fs.umount()
        written = dev.stats()
        fs = lfs(dev)
        with fs.open("notes.txt", "r") as f:
            assert f.read() == "sprig " * 200
        with fs.open("d/x.bin", "rb") as f:
            assert f.read() == bytes(range(256))
        assert sorted(fs.ilistdir("/"))[0][0] == "d"
    else:
        assert runtime in ("cpython", "micropython-qemu"), runtime
        blocks, size = rec.ioctl(4, 0), rec.ioctl(5, 0)
        assert blocks * size == dev.size and size % dev.prog_size == 0
        assert rec.ioctl(1, 0) == 0
        for block in (0, 1):
            assert rec.ioctl(6, block) == 0
            for off in range(0, size, 64):
                rec.writeblocks(block, bytes([block + 1]) * 64, off)
        assert rec.ioctl(3, 0) == 0
        head = bytearray(24)
        rec.readblocks(1, head, 3)
        assert head == b"\x02" * 24
        written = dev.stats()
    kinds = [op[0] for op in rec.log]
    assert "e" in kinds and "p" in kinds
    assert [op for op in rec.log if op[0] == "p" and op[2] > 0]  # programs at offsets
    assert written["erases"] == kinds.count("e")
    assert written["programs"] == kinds.count("p")
