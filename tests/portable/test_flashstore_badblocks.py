"""FlashStore on failing blocks: a program or erase error, or a block that silently
ignores programs and erases, never loses an acknowledged commit: the block is
retired (recorded on flash, reported by fsck) and the batch goes elsewhere; a
device that runs out of good blocks ends in DeviceFull. Portable (small devices)."""

import gc

from block_backend.devices import RamFlash
from block_backend.faults import (BAD_ERASE_ERROR, BAD_ERASE_NOOP, BAD_PROG_ERROR,
                                  BAD_PROG_NOOP, FaultyFlash)
from block_backend.flashstore import DeviceFull, FlashStore
from portable_core import retention
from portable_core.storage import StorageError
from portable_support import repo_on

BS = 1024
BC = 24
PS = 16


def check_all(dev, acked, bad=None):
    """Reopen ``dev``; every acknowledged value is there; return the fsck report."""
    gc.collect()
    fs = FlashStore.open(dev, retention=retention)
    main = repo_on(fs).main()
    for k in acked:
        assert main.get(k) == acked[k], k
    rep = fs.fsck()
    assert rep["clean"], rep
    if bad is not None:
        for b in bad:
            assert b in rep["bad_blocks"], rep["bad_blocks"]
    return rep


def run_with_failing_head(mode):
    dev = RamFlash(BS, BC, PS)
    ff = FaultyFlash(dev, bad_mode=mode)
    fs = FlashStore.format(ff, keep=2, retention=retention)
    main = repo_on(fs).main()
    acked = {}
    failed = []
    for i in range(30):
        if i in (5, 12, 20):
            # the block being appended to (and the next free one) fail from now on
            ff.mark_bad(fs.head)
            failed.append(fs.head)
        k = "k%d" % (i % 6)
        main.set(k, "v%d" % i)
        acked[k] = "v%d" % i
        gc.collect()
    assert main.get("k0") == acked["k0"]
    rep = check_all(ff, acked, failed)
    assert len(rep["bad_blocks"]) >= len(failed)
    return fs


def test_program_errors_retire_the_block():
    run_with_failing_head(BAD_PROG_ERROR | BAD_ERASE_ERROR)


def test_silent_noop_blocks_are_caught_by_read_back():
    run_with_failing_head(BAD_PROG_NOOP | BAD_ERASE_NOOP)


def test_silent_program_noop_only():
    run_with_failing_head(BAD_PROG_NOOP)


def test_bad_blocks_survive_reopen_and_compaction():
    dev = RamFlash(BS, BC, PS)
    ff = FaultyFlash(dev, bad_blocks=(3, 7), bad_mode=BAD_PROG_ERROR | BAD_ERASE_ERROR)
    fs = FlashStore.format(ff, keep=2, retention=retention)
    assert fs.bad_blocks() == [3, 7]
    main = repo_on(fs).main()
    acked = {}
    for i in range(60):
        k = "k%d" % (i % 5)
        main.set(k, i)
        acked[k] = i
        gc.collect()
    assert fs.compactions >= 1
    rep = check_all(ff, acked, [3, 7])
    assert rep["bad_blocks"] == [3, 7]
    # the retired blocks are never allocated again
    assert fs.seq_of(3) == 0 and fs.seq_of(7) == 0


def test_worn_out_device_ends_in_device_full():
    dev = RamFlash(BS, 16, PS)
    ff = FaultyFlash(dev, erase_limit=3, bad_mode=BAD_PROG_ERROR | BAD_ERASE_ERROR)
    fs = FlashStore.format(ff, keep=1, retention=retention)
    main = repo_on(fs).main()
    acked = {}
    full = False
    for i in range(600):
        k = "k%d" % (i % 4)
        try:
            main.set(k, "value %d" % i)
        except DeviceFull:
            full = True
            break
        except StorageError as exc:
            raise AssertionError("not DeviceFull: %r" % (exc,))
        acked[k] = "value %d" % i
        if i % 20 == 0:
            gc.collect()
    assert full and acked
    check_all(ff, acked)
