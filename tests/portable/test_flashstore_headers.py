"""FlashStore: bit flips in block headers (erase header, alloc header) of sealed,
head and free blocks, and the T_SEQ record that backs the alloc header up.

Each case: the open works or raises StorageError (never another exception), no
read returns wrong data, acknowledged commits survive when the seq can be
recovered, fsck reports the damage, repair makes fsck clean. Portable: CPython,
MicroPython unix, QEMU firmware (16 KiB devices)."""

import gc

from block_backend.devices import RamFlash
from block_backend.faults import flip_bit
from block_backend.flashstore import FlashStore
from portable_core import retention
from portable_core.storage import StorageError
from portable_support import read_block, repo_on

BS = 1024
BC = 16
PS = 16
H = 16  # alloc header and footer: 12 bytes in prog units
E = 32  # format (erase) header: 24 bytes in prog units; the alloc header follows


def build():
    """Return (device, {key: value} on main, main's head, heads of every commit)."""
    dev = RamFlash(BS, BC, PS)
    fs = FlashStore.format(dev, retention=retention)
    main = repo_on(fs).main()
    want = {}
    heads = []
    for i in range(14):
        k = "k%d" % (i % 6)
        want[k] = "value %d" % i
        heads.append(main.set(k, want[k]))
    gc.collect()
    return dev, fs, want, heads


def sealed_blocks(dev, fs):
    return [b for b in fs._log_order() if b != fs.head and read_block(dev, b, BS - H, 4) == b"SPRF"]


def free_block(fs):
    for b in range(BC):
        if not fs.state[b]:  # neither bad nor in the log
            return b
    raise AssertionError("no free block")


def check_reads(fs, want, heads):
    """Every read is right or raises StorageError; return True when all were right."""
    ok = True
    try:
        main = repo_on(fs).main()
        for k in want:
            try:
                got = main.get(k)
            except StorageError:
                ok = False
                continue
            assert got == want[k], (k, got)
    except StorageError:
        ok = False
    for h in heads:
        try:
            raw = fs.objects.get(h)
        except StorageError:
            ok = False
            continue
        assert raw is not None, "acknowledged commit silently lost"
    return ok


def flip_and_check(dev, block, offset, bit, want, heads, recoverable, what, seq=None):
    flip_bit(dev, block, offset, bit)
    try:
        fs = FlashStore.open(dev, retention=retention)
    except StorageError:
        assert not recoverable, "open refused a recoverable store"
        return None
    if seq is not None:
        assert fs.seq_of(block) == seq, "seq not recovered"
    ok = check_reads(fs, want, heads)
    assert ok or not recoverable, "recoverable damage lost data"
    rep = fs.fsck()
    assert not rep["clean"], rep
    assert [d for d in rep["damaged"] if what in d], (what, rep["damaged"])
    if recoverable:
        fs.fsck(repair=True)
        gc.collect()
        fs2 = FlashStore.open(dev, retention=retention)
        assert fs2.fsck()["clean"]
        assert check_reads(fs2, want, heads)
        # the store still takes commits, and they survive a reopen
        repo_on(fs2).main().set("after", "yes")
        assert repo_on(FlashStore.open(dev, retention=retention)).main().get("after") == "yes"
    return fs


def test_erase_header_flip_in_a_sealed_block():
    dev, fs, want, heads = build()
    b = sealed_blocks(dev, fs)[0]
    flip_and_check(dev, b, 5, 1, want, heads, True, "erase header")


def _alloc_header_flip_in_sealed(which):
    dev, fs, want, heads = build()
    blocks = sealed_blocks(dev, fs)
    assert len(blocks) >= 2
    b = blocks[which]
    assert flip_and_check(dev, b, E + 6, 3, want, heads, True, "alloc header", fs.seq_of(b))


def test_alloc_header_flip_in_a_sealed_block():
    # one call per case: MicroPython's GC scans a frame's stale slots, so a loop
    # here would keep the first case's 16 KiB device alive during the second
    for which in (0, -1):  # the oldest and the newest sealed block
        _alloc_header_flip_in_sealed(which)
        gc.collect()


def test_alloc_header_flip_in_the_head_block():
    dev, fs, want, heads = build()
    b = fs.head
    assert not fs.head_sealed
    flip_bit(dev, b, E + 1, 0)  # the magic
    fs2 = FlashStore.open(dev, retention=retention)
    assert fs2.seq_of(b) == fs.seq_of(b) and fs2.head == b
    assert check_reads(fs2, want, heads)
    # a commit appended to the recovered head survives a reopen (its seq is not reused)
    want["k0"] = "appended"
    heads.append(repo_on(fs2).main().set("k0", "appended"))
    fs3 = FlashStore.open(dev, retention=retention)
    assert check_reads(fs3, want, heads)
    rep = fs3.fsck()
    assert not rep["clean"] and [d for d in rep["damaged"] if "alloc header" in d], rep
    fs3.fsck(repair=True)
    fs4 = FlashStore.open(dev, retention=retention)
    assert fs4.fsck()["clean"] and check_reads(fs4, want, heads)


def test_header_flips_in_a_free_block():
    for off, what in ((2, "erase header"), (E + 9, "alloc header")):
        dev, fs, want, heads = build()
        flip_and_check(dev, free_block(fs), off, 4, want, heads, True, what)
        dev = fs = None
        gc.collect()


def test_alloc_header_and_seq_record_both_damaged():
    """The seq cannot be established: the block's records are reported lost; reads
    raise StorageError or are right, never wrong."""
    dev, fs, want, heads = build()
    for b in sealed_blocks(dev, fs)[-1:] + [fs.head]:
        flip_bit(dev, b, E + 6, 3)
        flip_bit(dev, b, E + H + 5, 0)  # the T_SEQ record's payload
        try:
            fs2 = FlashStore.open(dev, retention=retention)
        except StorageError:
            fs2 = None
        if fs2 is not None:
            assert [d for d in fs2.damage if "seq unknown" in d], fs2.damage
            check_reads(fs2, want, heads)
            try:
                names = fs2.refs.list()
            except StorageError:
                names = None
            assert names is None or names == ["heads/main"]
            assert not fs2.fsck()["clean"]
        fs2 = None
        flip_bit(dev, b, E + 6, 3)  # flip both back: the pristine image again
        flip_bit(dev, b, E + H + 5, 0)
        gc.collect()
