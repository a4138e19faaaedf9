"""Values of any size on a FlashStore, on small devices: a value bigger than a
block is stored in chunks, never wedges the store, survives reopen and
compaction; a value too big for the device is refused and the store stays
usable; a damaged chunk is reported; a full device still accepts the deletes,
branch removals and compactions that free it. (The 64 KiB value:
test_flashstore_large.py.) Portable: CPython, MicroPython unix, QEMU firmware."""

import gc

from block_backend.devices import RamFlash
from block_backend.faults import flip_bit
from block_backend.psramflash import PSRAM_BASE, PsramFlash, psram_available
from block_backend.flashstore import DeviceFull, FlashStore
from block_backend.records import T_CHUNK
from portable_core import retention
from portable_core.storage import StorageError
from portable_support import raises, repo_on



def device(block_count):
    """A device of 1 KiB blocks: in the board's PSRAM on the firmware (the heap is
    for the values), a RamFlash elsewhere."""
    if psram_available():
        return PsramFlash(PSRAM_BASE + 0x80000, 1024, block_count, 16, erase=True)
    return RamFlash(1024, block_count, 16)


def reopen(dev, keep=None):
    gc.collect()
    return FlashStore.open(dev, keep, retention=retention)


def test_a_value_bigger_than_a_block_never_wedges_the_store():
    dev = device(32)
    fs = FlashStore.format(dev, retention=retention)
    main = repo_on(fs).main()
    main.set("big", "x" * 3000)  # a text (three 1 KiB blocks): encoded, then chunked by the store
    main.set("small", 1)
    main.set("bytes", b"\x01" * 4500)
    assert main.get("big") == "x" * 3000 and main.get("small") == 1
    assert main.get("bytes") == b"\x01" * 4500
    fs2 = reopen(dev)
    m2 = repo_on(fs2).main()
    assert m2.get("big") == "x" * 3000 and m2.get("bytes") == b"\x01" * 4500
    fs2.compact()
    assert m2.get("big") == "x" * 3000
    assert fs2.fsck()["clean"]


def test_a_value_too_big_for_the_device_is_refused_and_the_store_stays_usable():
    dev = device(32)
    fs = FlashStore.format(dev, retention=retention)
    main = repo_on(fs).main()
    main.set("a", 1)
    head = main.head()
    exc = raises(DeviceFull, main.set, "huge", b"\x02" * 20000)
    assert "20004 bytes" in str(exc), str(exc)  # the object: tag, CBOR head, value
    assert main.head() == head
    raises(KeyError, main.get, "huge")
    main.set("b", 2)  # the next write works
    assert main.get("a") == 1 and main.get("b") == 2
    assert fs._pending == []
    fs2 = reopen(dev)
    assert repo_on(fs2).main().get("b") == 2
    assert fs2.fsck()["clean"]


def test_a_big_commit_message_is_chunked_and_compacted():
    dev = device(32)
    fs = FlashStore.format(dev, keep=2, retention=retention)
    main = repo_on(fs).main()
    note = "release notes " * 300  # a 4.2 KB commit
    main.set("a", 1, message=note)
    first = main.head()
    main.set("b", 2)
    fs.compact()
    fs2 = reopen(dev)
    m2 = repo_on(fs2).main()
    assert m2.get("a") == 1
    assert note.encode() in fs2.objects.get(first)
    assert fs2.fsck()["clean"]


def test_a_damaged_chunk_is_reported_never_returned():
    dev = device(32)
    fs = FlashStore.format(dev, retention=retention)
    main = repo_on(fs).main()
    v = bytes(range(200)) * 30
    main.set("v", v)
    fs2 = reopen(dev)
    # flip one bit in the payload of the first chunk record
    for b in fs2._log_order():
        buf = fs2._read(b, 0, fs2.B)
        at = buf.find(bytes(range(40, 60)))
        if at > 0 and buf[fs2.data_start + 16] == T_CHUNK:
            flip_bit(dev, b, at, 2)
            break
    else:
        raise AssertionError("no chunk found")
    fs3 = reopen(dev)
    raises(StorageError, repo_on(fs3).main().get, "v")
    assert not fs3.fsck()["clean"]


def fill(main, size, limit):
    """Set values of ``size`` bytes until DeviceFull; return the keys written."""
    keys = []
    for i in range(limit):
        try:
            main.set("v%d" % i, bytes((i,)) * size)
        except DeviceFull:
            return keys
        keys.append("v%d" % i)
    raise AssertionError("the device never filled")


def test_a_full_device_accepts_the_deletes_that_free_it():
    dev = device(40)
    fs = FlashStore.format(dev, retention=retention)
    repo = repo_on(fs)
    main = repo.main()
    keys = fill(main, 2500, 40)
    assert len(keys) >= 2
    raises(DeviceFull, main.set, "more", b"\x07" * 2500)  # still full
    fs = reopen(dev)  # after a reopen too
    repo = repo_on(fs)
    main = repo.main()
    main.remove(keys[0])
    main.remove(keys[1])
    raises(KeyError, main.get, keys[0])
    assert main.get(keys[-1]) == bytes((len(keys) - 1,)) * 2500
    main.set("after", b"\x08" * 2500)  # space was reclaimed
    assert main.get("after") == b"\x08" * 2500
    fs2 = reopen(dev)
    m2 = repo_on(fs2).main()
    assert m2.get("after") == b"\x08" * 2500
    raises(KeyError, m2.get, keys[0])
    assert fs2.fsck()["clean"], fs2.fsck()


def test_a_full_device_accepts_branch_removal_and_compaction():
    dev = device(40)
    fs = FlashStore.format(dev, retention=retention)
    repo = repo_on(fs)
    repo.main().set("base", 1)
    repo.main().clone("side")
    side = repo.branch("side")
    fill(side, 2500, 40)
    try:  # the history merges need (side back to main) may not fit: refused, unchanged
        fs.compact()
    except DeviceFull:
        pass
    assert repo.main().get("base") == 1 and side.get("v0") == b"\x00" * 2500
    repo.remove_branch("side")  # frees what only side held
    assert repo.branches() == ["main"]
    fs.compact()  # now a compaction of the device works
    main = repo.main()
    for i in range(4):
        main.set("w%d" % i, b"\x09" * 2500)
    fs2 = reopen(dev)
    r2 = repo_on(fs2)
    assert r2.branches() == ["main"] and r2.main().get("w3") == b"\x09" * 2500
    assert fs2.fsck()["clean"]
