"""FileFlash: NOR flash in a host file (CPython, MicroPython unix).

Portable. The QEMU firmware has no filesystem: there each test asserts that
opening a FileFlash fails with an OSError, plus whatever needs no file.
"""

import os

from block_backend.devices import FlashError
from block_backend.faults import FaultyFlash, PowerCut
from block_backend.fileflash import FileFlash
from portable_core.compat import runtime_name
from portable_support import raises as _raises, read_block as _read

BS = 256
BC = 8
PS = 16
HAS_FS = runtime_name() != "micropython-qemu"


def _path(tag):
    suffix = "0"
    try:
        suffix = "".join("%02x" % b for b in os.urandom(4))
    except (AttributeError, OSError, NotImplementedError):
        pass
    return "/tmp/sprig-fileflash-%s-%s-%s.img" % (runtime_name(), tag, suffix)


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def _open(path, block_count=BC, strict=True):
    """Open a FileFlash; on the firmware assert that it fails with OSError and return None."""
    if not HAS_FS:
        exc = _raises(OSError, FileFlash, path, BS, block_count, PS, strict)
        assert not isinstance(exc, FlashError)
        assert isinstance(exc.errno, int) and exc.errno > 0
        return None
    return FileFlash(path, BS, block_count, PS, strict)


def test_geometry_checked_before_touching_files():
    # runs everywhere: the geometry is validated first
    _raises(FlashError, FileFlash, _path("geom"), 250, 4, 16)
    _raises(FlashError, FileFlash, _path("geom"), 256, 0, 16)


def test_created_erased_with_geometry():
    path = _path("new")
    dev = _open(path)
    if dev is None:
        return
    try:
        assert os.stat(path)[6] == BS * BC
        assert dev.ioctl(4, 0) == BC and dev.ioctl(5, 0) == BS
        assert dev.snapshot() == b"\xff" * (BS * BC)
        assert _read(dev, BC - 1, BS - 4, 4) == b"\xff" * 4
    finally:
        dev.close()
        _remove(path)


def test_persists_across_reopen():
    path = _path("persist")
    dev = _open(path)
    if dev is None:
        return
    try:
        dev.writeblocks(2, bytes(range(64)), 32)
        dev.writeblocks(7, b"\x00" * BS, 0)
        assert dev.ioctl(6, 7) == 0
        dev.writeblocks(7, b"\x5a" * PS, BS - PS)
        assert dev.ioctl(3, 0) == 0  # sync: the file holds it all now
        image = dev.snapshot()
        with open(path, "rb") as f:
            assert f.read() == image
        dev.writeblocks(0, b"\x00" * PS, 0)
        assert dev.ioctl(2, 0) == 0  # deinit syncs too
        image = dev.snapshot()
        with open(path, "rb") as f:
            assert f.read() == image
        s = dev.stats()
        assert (s["programs"], s["erases"]) == (4, 1), s
        dev.close()
        _raises(FlashError, dev.readblocks, 0, bytearray(1), 0)  # closed
        dev = FileFlash(path, BS, BC, PS)
        assert dev.snapshot() == image
        assert _read(dev, 2, 32, 64) == bytes(range(64))
        assert _read(dev, 7, 0, PS) == b"\xff" * PS
        assert _read(dev, 7, BS - PS, PS) == b"\x5a" * PS
        assert dev.stats()["programs"] == 0  # counters belong to the open device
        with open(path, "rb") as f:  # the file is the raw image, block 0 first
            assert f.read() == image
    finally:
        dev.close()
        _remove(path)


def test_size_mismatch_is_a_clear_error():
    path = _path("size")
    dev = _open(path)
    if dev is None:
        _open(path, BC * 2)
        return
    dev.close()
    try:
        exc = _raises(FlashError, FileFlash, path, BS, BC * 2, PS)
        assert path in str(exc.args[0]) and str(BS * BC) in str(exc.args[0])
        with open(path, "ab") as f:
            f.write(b"\xff")
        _raises(FlashError, FileFlash, path, BS, BC, PS)
    finally:
        _remove(path)


def test_nor_rules_in_file():
    path = _path("nor")
    dev = _open(path)
    if dev is None:
        return
    try:
        dev.writeblocks(0, b"\x0f" * PS, 0)
        _raises(FlashError, dev.writeblocks, 0, b"\xf0" * PS, 0)
        _raises(FlashError, dev.writeblocks, 0, b"\x00" * 8, 0)
        _raises(FlashError, dev.writeblocks, BC, b"\x00" * PS, 0)
        assert _read(dev, 0, 0, PS) == b"\x0f" * PS
        dev.close()
        dev = FileFlash(path, BS, BC, PS, strict=False)
        dev.writeblocks(0, b"\xf5" * PS, 0)
        assert _read(dev, 0, 0, PS) == b"\x05" * PS
        dev.erase(0)
        assert _read(dev, 0, 0, BS) == b"\xff" * BS
    finally:
        dev.close()
        _remove(path)


def test_power_cut_then_reopen_file():
    path = _path("cut")
    dev = _open(path)
    if dev is None:
        return
    try:
        ff = FaultyFlash(dev, cut_at=3, torn=2)
        ff.erase(1)
        ff.writeblocks(1, b"\x11" * 64, 0)
        _raises(PowerCut, ff.writeblocks, 1, b"\x22" * 64, 64)
        _raises(PowerCut, ff.sync)
        dev.close()
        dev = FileFlash(path, BS, BC, PS)
        want = b"\x11" * 64 + b"\x22" * 32 + b"\xff" * (BS - 96)
        assert _read(dev, 1, 0, BS) == want
    finally:
        dev.close()
        _remove(path)


def test_littlefs_on_fileflash():
    """VfsLfs2 on a FileFlash survives closing and reopening the file (unix port);
    elsewhere the same image round trip is done through the block protocol."""
    path = _path("lfs")
    dev = _open(path)
    if dev is None:
        return
    try:
        try:
            import vfs

            lfs = vfs.VfsLfs2
        except (ImportError, AttributeError):
            lfs = None
        if runtime_name() == "micropython-unix":
            assert lfs is not None
        if lfs is not None:
            lfs.mkfs(dev)
            fs = lfs(dev)
            with fs.open("f.txt", "w") as f:
                f.write("persistent")
            fs.umount()
        else:
            dev.ioctl(6, 0)
            dev.writeblocks(0, b"persistent" + b"\x00" * 6, 0)
        dev.close()
        dev = FileFlash(path, BS, BC, PS)
        if lfs is not None:
            with lfs(dev).open("f.txt", "r") as f:
                assert f.read() == "persistent"
        else:
            assert _read(dev, 0, 0, 10) == b"persistent"
    finally:
        dev.close()
        _remove(path)
