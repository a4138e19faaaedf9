"""FlashStore faults the format must tell apart: a bit flipped in erased flash
(never programmed over), a bit flipped in the newest ref record (corrected or
reported, never taken for a torn write), and valid records that do not fit the
device (reported, never a crash). Portable: CPython, MicroPython unix, QEMU
firmware (16 KiB devices)."""

import gc
import struct

from block_backend.devices import RamFlash
from block_backend.faults import flip_bit
from block_backend.flashstore import FlashStore
from portable_core import retention
from block_backend.records import (OK, T_BAD, T_REF, T_SNAP_END, T_SUM, encode_record,
                                   scan_records)
from portable_core.storage import StorageError
from portable_support import read_block, repo_on

BS = 1024
BC = 16
PS = 16


def build(n=12, dev=None):
    """Return (device, store, {key: value}, main's head) after ``n`` commits on
    ``dev`` (erased first; default a new one: the firmware's heap is too
    fragmented for a new 16 KiB device per case)."""
    if dev is None:
        dev = RamFlash(BS, BC, PS)
    dev.fill_erased()
    gc.collect()
    fs = FlashStore.format(dev, keep=2, retention=retention)
    main = repo_on(fs).main()
    want = {}
    for i in range(n):
        k = "k%d" % (i % 5)
        want[k] = "value %d" % i
        main.set(k, want[k])
    gc.collect()
    return dev, fs, want, main.head()


def reads_back(fs, want, head):
    main = repo_on(fs).main()
    assert main.head() == head
    for k in want:
        assert main.get(k) == want[k], k


def test_flip_in_the_heads_erased_space_is_never_programmed():
    dev = None
    for delta, bits in ((0, range(8)), (0, (0,)), (40, (5,)), (300, (5,))):
        dev, fs, want, head = build(12, dev)
        for bit in bits:  # strict device: a program needing a 0 -> 1 fails
            flip_bit(dev, fs.head, fs.head_pos + delta, bit)
        main = repo_on(fs).main()
        want["new"] = delta
        head = main.set("new", delta)
        reads_back(fs, want, head)
        fs2 = FlashStore.open(dev, retention=retention)
        reads_back(fs2, want, head)
        rep = fs2.fsck()
        assert rep["clean"], (delta, rep)
        fs = fs2 = main = None


def test_flips_in_erased_free_blocks_are_never_programmed():
    dev, fs, want, head = build(4)
    for b in range(BC):
        if not fs.state[b]:  # free: a flip in its erased data area
            flip_bit(dev, b, fs.data_start + 37 * b % (BS - fs.data_start - 16), b % 8)
    main = repo_on(fs).main()
    for i in range(40):  # allocates and compacts through every block
        want["k%d" % (i % 5)] = i
        head = main.set("k%d" % (i % 5), i)
    assert fs.compactions > 0
    reads_back(fs, want, head)
    fs2 = FlashStore.open(dev, retention=retention)
    reads_back(fs2, want, head)
    assert fs2.fsck()["clean"]


def newest_ref_record(dev, fs):
    """Return (block, offset, payload length) of the newest ref record."""
    buf = bytearray(read_block(dev, fs.head, 0, BS))
    last = None
    for pos, typ, n, st in scan_records(buf, fs.data_start, fs.foot, PS):
        if st == OK and typ == T_REF:
            last = (fs.head, pos, n)
    assert last is not None
    return last


def test_flip_in_the_newest_ref_record_is_corrected_and_reported():
    dev, fs, want, head = build()
    b, pos, n = newest_ref_record(dev, fs)
    end = pos + 8 + n
    unit = (end - 1) // PS * PS
    spots = [(off, off % 8) for off in range(unit, end)] + [(end - 1, bit) for bit in range(8)]
    spots += [(pos, 2), (pos + 1, 0), (pos + 3, 7), (pos + 9, 4)]  # type, len, hcrc, name
    for off, bit in spots:
        flip_bit(dev, b, off, bit)
        fs = FlashStore.open(dev, retention=retention)
        reads_back(fs, want, head)  # never the commit before
        rep = fs.fsck()
        assert [d for d in rep["damaged"] + rep["corrected"] if "offset %d: flipped bit corrected" % pos in d], \
            (off, bit, rep)
        flip_bit(dev, b, off, bit)  # back: open and fsck changed nothing
        fs = None
        gc.collect()
    flip_bit(dev, b, pos + 9, 4)  # a flip in programmed bytes: repair rewrites the record
    fs = FlashStore.open(dev, retention=retention)
    fs.fsck(repair=True)
    fs = FlashStore.open(dev, retention=retention)
    reads_back(fs, want, head)
    assert fs.fsck()["clean"]


def append(dev, fs, recs):
    """Program records (CRCs valid) after the head's last record, as a batch would."""
    data = b"".join(recs)
    data += b"\xff" * (-len(data) % PS)
    dev.writeblocks(fs.head, data, fs.head_pos)


def footer(off):
    from block_backend.layout import MAGIC_FOOT, encode_header

    return encode_header(MAGIC_FOOT, off, PS)


def test_records_that_do_not_fit_the_device_are_reported():
    cases = (
        ("bad-block record names block 999", [encode_record(T_BAD, struct.pack("<H", 999))], False),
        ("bad-block record of 3 bytes", [encode_record(T_BAD, b"\x01\x02\x03")], False),
        ("names 200-byte name", [encode_record(T_REF, b"\xc8heads/main")], True),
        ("ref record of 16 bytes", [encode_record(T_REF, b"\x0aheads/mainabcde")], True),
        ("ref name is not UTF-8", [encode_record(T_REF, b"\x02\xff\xfe")], True),
        ("snapshot end of 2 bytes", [encode_record(T_SNAP_END, b"\x01\x00")], True),
    )
    dev = None
    for what, recs, refs_hurt in cases:
        dev, fs, want, head = build(6, dev)
        append(dev, fs, recs)
        fs = FlashStore.open(dev, retention=retention)  # never IndexError, struct.error, UnicodeError
        rep = fs.fsck()
        assert not rep["clean"] and [d for d in rep["damaged"] if what in d], (what, rep)
        if refs_hurt:
            try:
                repo_on(fs).main().head()
                raise AssertionError("a damaged ref record went unnoticed: " + what)
            except StorageError:
                pass
        else:
            reads_back(fs, want, head)
            assert fs.bad_blocks() == []
        fs = None


def test_footers_and_summaries_that_do_not_fit_the_block_are_reported():
    dev = None
    for off in (70000, 5, BS):
        dev, fs, want, head = build(6, dev)
        dev.writeblocks(fs.head, footer(off), fs.foot)
        fs = FlashStore.open(dev, retention=retention)
        reads_back(fs, want, head)
        rep = fs.fsck()
        assert [d for d in rep["damaged"] if "footer damaged" in d], (off, rep)
    fs = None
    dev, fs, want, head = build(6, dev)
    pre = bytes(fs.head_prefix)
    k = len(pre) // 4
    summary = encode_record(T_SUM, pre + struct.pack("<H", 0xFFF0) * k)
    at = fs.head_pos
    append(dev, fs, [summary])
    dev.writeblocks(fs.head, footer(at), fs.foot)
    fs = FlashStore.open(dev, retention=retention)
    for key in want:  # right, or a clean StorageError
        try:
            assert repo_on(fs).main().get(key) == want[key]
        except StorageError:
            pass
    rep = fs.fsck()
    assert [d for d in rep["damaged"] if "summary" in d], rep


def test_a_length_past_the_block_is_not_a_record():
    dev, fs, want, head = build(6)
    rec = bytearray(encode_record(T_REF, b"\x0aheads/main" + head))
    rec[1] = 0xF0  # len 0xFFF0, its hcrc made valid: a plausible header, past the block
    rec[2] = 0xFF
    from block_backend.records import crc32

    rec[3] = crc32(bytes(rec[:3])) & 0xFF
    append(dev, fs, [bytes(rec)])
    fs = FlashStore.open(dev, retention=retention)  # bytes that are no record: damage, reported
    rep = fs.fsck()
    assert not rep["clean"] and [d for d in rep["damaged"] if "damaged record" in d], rep
    assert fs.objects.get(head) is not None  # what was written still reads
