"""Fault injection: power cuts at every op (whole and torn), bad blocks, wear, bit flips.

Portable: CPython, MicroPython unix, QEMU firmware. Tiny devices keep the
exhaustive power-cut replay quick on the firmware.
"""

from block_backend.devices import FlashError, RamFlash
from block_backend.faults import (
    BAD_ERASE_ERROR,
    BAD_ERASE_NOOP,
    BAD_PROG_ERROR,
    BAD_PROG_NOOP,
    BAD_READ_ERROR,
    TORN_RANDOM,
    FaultyFlash,
    PowerCut,
    flip_bit,
    flip_random,
    tear_variants,
)
from portable_support import raises as _raises

BS = 64
BC = 4
PS = 16


def _dev():
    return RamFlash(block_size=BS, block_count=BC, prog_size=PS)


def _pattern(seed, n):
    return bytes([(seed * 37 + i * 11) & 0xFF for i in range(n)])


# A workload: erases and programs of several lengths, a re-erase of a used block.
WORKLOAD = (
    ("e", 0, 0, None),
    ("p", 0, 0, _pattern(1, 32)),
    ("p", 0, 32, _pattern(2, 16)),
    ("e", 1, 0, None),
    ("p", 1, 0, _pattern(3, BS)),
    ("e", 0, 0, None),
    ("p", 0, 16, _pattern(4, 48)),
    ("p", 2, 48, b"\x00" * 16),
)


def _run(dev, until=None):
    for i, (kind, block, offset, data) in enumerate(WORKLOAD):
        if until is not None and i == until:
            return
        if kind == "e":
            assert dev.ioctl(6, block) == 0
        else:
            dev.writeblocks(block, data, offset)


def _expected(before, op, k):
    """The image after ``op`` applied to image ``before`` with ``k`` bytes landing."""
    kind, block, offset, data = op
    img = bytearray(before)
    addr = block * BS + offset
    for i in range(k):
        img[addr + i] = 0xFF if kind == "e" else img[addr + i] & data[i]
    return bytes(img)


def test_record_counts_ops():
    rec = FaultyFlash(_dev(), record=True)
    _run(rec)
    assert rec.ops == len(WORKLOAD) == len(rec.log)
    for logged, op in zip(rec.log, WORKLOAD):
        kind, block, offset, data = op
        n = BS if kind == "e" else len(data)
        assert logged == (kind, block, offset, n), logged
    rec.writeblocks(3, b"", 0)  # zero-length: not an op
    _raises(FlashError, rec.writeblocks, 3, b"\x00", 0)  # misuse: not an op
    rec.readblocks(3, bytearray(4), 0)  # reads are not ops
    assert rec.ops == len(WORKLOAD)


def test_power_cut_at_every_op_whole_and_torn():
    images = [_dev().snapshot()]
    for i in range(len(WORKLOAD)):
        dev = _dev()
        _run(dev, i + 1)
        images.append(dev.snapshot())
    cases = 0
    for n in range(1, len(WORKLOAD) + 1):
        op = WORKLOAD[n - 1]
        nbytes = BS if op[0] == "e" else len(op[3])
        variants = tear_variants(nbytes // PS)
        assert variants[0] is None and 0 in variants
        for torn in variants:
            dev = _dev()
            ff = FaultyFlash(dev, cut_at=n, torn=torn)
            _raises(PowerCut, _run, ff)
            assert ff.ops == n and not ff.powered
            k = nbytes if torn is None else torn * PS
            assert ff.landed == k
            want = images[n] if torn is None else _expected(images[n - 1], op, k)
            assert dev.snapshot() == want, (n, torn)
            cases += 1
    assert cases > 2 * len(WORKLOAD)


def test_after_cut_everything_fails_until_revive():
    dev = _dev()
    ff = FaultyFlash(dev, cut_at=2, torn=1)
    _raises(PowerCut, _run, ff)
    image = dev.snapshot()
    _raises(PowerCut, ff.readblocks, 0, bytearray(4), 0)
    _raises(PowerCut, ff.writeblocks, 3, b"\x00" * PS, 0)
    _raises(PowerCut, ff.erase, 3)
    _raises(PowerCut, ff.ioctl, 6, 3)
    _raises(PowerCut, ff.ioctl, 3, 0)
    _raises(PowerCut, ff.ioctl, 1, 0)
    assert ff.ioctl(4, 0) == BC and ff.ioctl(5, 0) == BS  # geometry still answers
    assert ff.ops == 2 and dev.snapshot() == image  # nothing more landed
    assert ff.snapshot() == image  # inspection needs no power
    ff.revive()
    buf = bytearray(32)
    ff.readblocks(0, buf, 0)
    assert buf == _pattern(1, 32)[:PS] + b"\xff" * PS  # one unit of op 2 landed
    _run(ff)  # no further cut: the whole workload runs again
    assert ff.ops == 2 + len(WORKLOAD)


def test_second_cut_after_revive_and_fresh_device_from_image():
    dev = _dev()
    ff = FaultyFlash(dev, cut_at=4, torn=0)  # erase of block 1 does nothing
    _raises(PowerCut, _run, ff)
    ff.revive()
    ff.cut_at = ff.ops + 1
    ff.torn = 2
    _raises(PowerCut, ff.writeblocks, 1, b"\x00" * BS, 0)
    assert dev.read_raw(BS, BS) == b"\x00" * 32 + b"\xff" * 32
    reopened = RamFlash(block_size=BS, block_count=BC, prog_size=PS, image=dev.snapshot())
    buf = bytearray(48)
    reopened.readblocks(0, buf, 0)
    assert buf == _pattern(1, 32) + _pattern(2, 16)


def test_torn_erase_prefix_and_cut_counters():
    dev = _dev()
    dev.writeblocks(2, b"\x00" * BS, 0)
    dev.reset_stats()
    ff = FaultyFlash(dev, cut_at=1, torn=3)
    _raises(PowerCut, ff.erase, 2)
    assert dev.read_raw(2 * BS, BS) == b"\xff" * 48 + b"\x00" * 16
    assert dev.stats()["erases"] == 0  # a torn erase is not counted
    ff = FaultyFlash(dev, cut_at=1, torn=2)
    _raises(PowerCut, ff.writeblocks, 3, b"\x11" * BS, 0)
    s = dev.stats()
    assert s["programs"] == 1 and s["prog_bytes"] == 32  # what landed
    ff = FaultyFlash(dev, cut_at=1, torn=99)  # capped at the op's length
    _raises(PowerCut, ff.erase, 2)
    assert ff.landed == BS and dev.stats()["erases"] == 1


def test_torn_random_is_seeded():
    results = []
    for seed in (1, 1, 7):
        dev = _dev()
        ff = FaultyFlash(dev, cut_at=5, torn=TORN_RANDOM, seed=seed)
        _raises(PowerCut, _run, ff)
        assert 0 <= ff.landed <= BS and ff.landed % PS == 0
        results.append((ff.landed, dev.snapshot()))
    assert results[0] == results[1]


def test_tear_variants():
    assert tear_variants(1) == [None, 0]
    assert tear_variants(2) == [None, 0, 1]
    assert tear_variants(8) == [None, 0, 1, 4, 7]


def test_bad_blocks_prog_and_erase_errors():
    dev = _dev()
    ff = FaultyFlash(dev, bad_blocks=(2,))
    exc = _raises(OSError, ff.writeblocks, 2, b"\x00" * PS, 0)
    assert exc.errno == 5
    assert _raises(OSError, ff.ioctl, 6, 2).errno == 5
    buf = bytearray(4)
    ff.readblocks(2, buf, 0)  # reads still work by default
    assert buf == b"\xff" * 4
    ff.writeblocks(1, b"\x00" * PS, 0)  # other blocks are fine
    ff.mark_bad(1)
    _raises(OSError, ff.erase, 1)
    assert ff.is_bad(1) and ff.is_bad(2) and not ff.is_bad(0)
    assert dev.read_raw(BS, PS) == b"\x00" * PS


def test_bad_block_read_error_and_noop_modes():
    dev = _dev()
    ff = FaultyFlash(dev, bad_blocks=(1,), bad_mode=BAD_READ_ERROR)
    assert _raises(OSError, ff.readblocks, 1, bytearray(1), 0).errno == 5
    ff.writeblocks(1, b"\x00" * PS, 0)
    assert dev.read_raw(BS, 1) == b"\x00"
    ff = FaultyFlash(dev, bad_blocks=(1,), bad_mode=BAD_PROG_NOOP)
    ff.writeblocks(1, b"\x00" * BS, 0)  # silently nothing
    assert dev.read_raw(BS + PS, PS) == b"\xff" * PS
    ff.erase(1)  # erases work in this mode
    assert dev.read_raw(BS, BS) == b"\xff" * BS
    dev.writeblocks(1, b"\x00" * PS, 0)
    ff = FaultyFlash(dev, bad_blocks=(1,), bad_mode=BAD_ERASE_NOOP)
    ff.erase(1)
    ff.writeblocks(1, b"\x00" * PS, PS)
    assert dev.read_raw(BS, 2 * PS) == b"\x00" * PS + b"\xff" * PS


def test_erase_limit_wears_out():
    dev = _dev()
    ff = FaultyFlash(dev, erase_limit=3)
    for _ in range(3):
        ff.erase(0)
        ff.writeblocks(0, b"\x00" * PS, 0)
    assert ff.wear[0] == 3 and not ff.is_bad(0)
    assert _raises(OSError, ff.erase, 0).errno == 5  # the 4th erase finds it worn
    assert ff.is_bad(0)
    assert dev.read_raw(0, PS) == b"\x00" * PS  # not erased
    _raises(OSError, ff.writeblocks, 0, b"\x00" * PS, PS)
    ff.erase(1)  # wear is per block
    assert ff.wear[1] == 1 and dev.stats()["erases"] == 4


def test_erase_limit_modes():
    dev = _dev()
    ff = FaultyFlash(dev, erase_limit=1, bad_mode=BAD_ERASE_NOOP)
    ff.erase(0)
    ff.writeblocks(0, b"\x00" * PS, 0)
    ff.erase(0)  # worn: silently nothing
    assert dev.read_raw(0, PS) == b"\x00" * PS
    ff = FaultyFlash(dev, erase_limit=1, bad_mode=BAD_PROG_ERROR)
    ff.erase(1)
    ff.erase(1)  # worn, but this mode still erases
    assert ff.is_bad(1)
    _raises(OSError, ff.writeblocks, 1, b"\x00" * PS, 0)
    ff.erase(1)
    assert ff.wear[1] == 2
    ff = FaultyFlash(dev, erase_limit=0, bad_mode=BAD_ERASE_ERROR | BAD_READ_ERROR)
    _raises(OSError, ff.erase, 2)
    _raises(OSError, ff.readblocks, 2, bytearray(1), 0)
    ff.writeblocks(2, b"\x00" * PS, 0)  # programs still work in this mode


def test_flip_bit():
    dev = _dev()
    flip_bit(dev, 1, 5, 0)
    flip_bit(dev, 1, 5, 7)
    assert dev.read_raw(BS + 5, 1) == b"\x7e"
    flip_bit(dev, 1, 5, 7)
    assert dev.read_raw(BS + 5, 1) == b"\xfe"
    ff = FaultyFlash(dev)
    flip_bit(ff, 3, BS - 1, 3)
    assert dev.read_raw(BC * BS - 1, 1) == b"\xf7"
    assert dev.stats()["programs"] == 0  # flips bypass the counters
    _raises(ValueError, flip_bit, dev, 0, 0, 8)
    _raises(ValueError, flip_bit, dev, 0, BS, 0)
    _raises(FlashError, flip_bit, dev, BC, 0, 0)


def test_flip_random_seeded():
    base = _dev()
    base.writeblocks(0, _pattern(9, BS), 0)
    image = base.snapshot()
    a = RamFlash(block_size=BS, block_count=BC, prog_size=PS, image=image)
    b = RamFlash(block_size=BS, block_count=BC, prog_size=PS, image=image)
    flips = flip_random(a, 6, seed=42, blocks=[0, 3])
    assert flip_random(b, 6, seed=42, blocks=[0, 3]) == flips
    assert a.snapshot() == b.snapshot()
    odd = {}
    for block, offset, bit in flips:
        assert block in (0, 3) and 0 <= offset < BS and 0 <= bit < 8
        key = (block * BS + offset, bit)
        odd[key] = not odd.get(key, False)
    got = a.snapshot()
    for addr in range(BC * BS):
        diff = got[addr] ^ image[addr]
        for bit in range(8):
            assert bool(diff >> bit & 1) == odd.get((addr, bit), False)
    assert flip_random(a, 1, seed=43) != flips[:1]
