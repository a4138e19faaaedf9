"""PsramFlash: NOR flash over the QEMU board's PSRAM (firmware only).

Portable. On the firmware the device is formatted, programmed, erased and read at
a PSRAM address, and checked against the raw memory. Elsewhere constructing one
must fail with OSError(ENODEV), and the same exercise runs on a RamFlash (the
shared NOR code PsramFlash uses).
"""

from block_backend.devices import FlashError, RamFlash
from block_backend.faults import FaultyFlash, PowerCut
from block_backend.psramflash import PSRAM_BASE, PSRAM_SIZE, PsramFlash, psram_available
from portable_core.compat import runtime_name
from portable_support import raises as _raises, read_block as _read

BS = 512
BC = 16
PS = 16
BASE = PSRAM_BASE + 0x40000  # away from the start, where a host may load an image


def _device(base=BASE):
    """A PsramFlash on the firmware, else (after checking it is refused) a RamFlash."""
    if psram_available():
        return PsramFlash(base, BS, BC, PS, erase=True)
    exc = _raises(OSError, PsramFlash, base, BS, BC, PS)
    assert exc.errno == 19, exc.args
    return RamFlash(BS, BC, PS)


def _memory(addr, n):
    """Bytes at ``addr`` read behind the device's back (firmware only)."""
    import uctypes

    return bytes(uctypes.bytearray_at(addr, n))


def test_availability_matches_runtime():
    on_fw = runtime_name() == "micropython-qemu"
    assert psram_available() == on_fw
    if not on_fw:
        exc = _raises(OSError, PsramFlash)
        assert exc.errno == 19
        assert "PSRAM" in str(exc.args[1])


def test_format_program_erase_read():
    dev = _device()
    assert dev.ioctl(4, 0) == BC and dev.ioctl(5, 0) == BS
    assert dev.snapshot() == b"\xff" * (BS * BC)
    dev.erase_all()
    assert dev.stats()["erases"] == BC
    data = bytes(range(48))
    dev.writeblocks(3, data, 64)
    dev.writeblocks(BC - 1, b"\x00" * BS, 0)
    assert _read(dev, 3, 64, 48) == data
    assert _read(dev, 3, 70, 3) == data[6:9]
    assert _read(dev, 3, 0, 64) == b"\xff" * 64
    if psram_available():
        assert _memory(BASE + 3 * BS + 64, 48) == data
        assert _memory(BASE + (BC - 1) * BS, BS) == b"\x00" * BS
    assert dev.ioctl(6, BC - 1) == 0
    assert _read(dev, BC - 1, 0, BS) == b"\xff" * BS
    if psram_available():
        assert _memory(BASE + (BC - 1) * BS, BS) == b"\xff" * BS
    s = dev.stats()
    assert (s["programs"], s["prog_bytes"], s["erases"]) == (2, 48 + BS, BC + 1), s


def test_nor_rules():
    dev = _device()
    dev.writeblocks(0, b"\x0f" * PS, 0)
    _raises(FlashError, dev.writeblocks, 0, b"\xf0" * PS, 0)
    _raises(FlashError, dev.writeblocks, 0, b"\x00" * PS, 8)
    _raises(FlashError, dev.readblocks, BC, bytearray(1), 0)
    assert _read(dev, 0, 0, PS) == b"\x0f" * PS
    dev.writeblocks(0, b"\x01" * PS, 0)
    assert _read(dev, 0, 0, PS) == b"\x01" * PS


def test_contents_outlive_the_object():
    dev = _device()
    dev.writeblocks(5, b"\xa5" * 32, 32)
    if psram_available():
        again = PsramFlash(BASE, BS, BC, PS)  # no erase: sees what is there
    else:
        again = RamFlash(BS, BC, PS, image=dev.snapshot())
    assert _read(again, 5, 32, 32) == b"\xa5" * 32
    assert again.stats()["programs"] == 0


def test_bounds():
    if not psram_available():
        _raises(OSError, PsramFlash, PSRAM_BASE - BS, BS, BC, PS)
        return
    _raises(FlashError, PsramFlash, PSRAM_BASE - BS, BS, BC, PS)
    _raises(FlashError, PsramFlash, PSRAM_BASE + PSRAM_SIZE - BS, BS, BC, PS)
    last = PsramFlash(PSRAM_BASE + PSRAM_SIZE - BS * BC, BS, BC, PS, erase=True)
    last.writeblocks(BC - 1, b"\x00" * PS, BS - PS)
    assert _memory(PSRAM_BASE + PSRAM_SIZE - PS, PS) == b"\x00" * PS


def test_power_cut_on_psram():
    dev = _device()
    ff = FaultyFlash(dev, cut_at=2, torn=1)
    ff.erase(2)
    _raises(PowerCut, ff.writeblocks, 2, b"\x00" * 64, 0)
    assert _read(dev, 2, 0, 64) == b"\x00" * PS + b"\xff" * 48
