"""Values of any size on a FlashStore: a value bigger than a block is stored in
chunks (T_CHUNK records and a T_MANIFEST), read back in place, verified, kept by
reopen and compaction; a value too big for the device is refused and the store
stays usable; a full device still accepts the deletes, branch removals and
compactions that free it. Portable: CPython, MicroPython unix, QEMU firmware
(the 4 KiB-block device lives in the board's PSRAM there)."""

import gc
import hashlib

from block_backend.devices import RamFlash
from block_backend.faults import flip_bit
from block_backend.flashstore import DeviceFull, FlashStore
from block_backend.psramflash import PSRAM_BASE, PsramFlash, psram_available
from block_backend.records import T_CHUNK, T_MANIFEST
from portable_core.storage import StorageError
from portable_support import raises, repo_on

BIG = 65536  # the 64 KiB value of the issue


def big_device(blocks=64):
    """A 4 KiB-block device: in PSRAM on the firmware (its heap is 140 KiB)."""
    if psram_available():
        return PsramFlash(PSRAM_BASE + 0x80000, 4096, blocks, 16, erase=True)
    return RamFlash(4096, blocks, 16)


def big_value():
    """The 64 KiB value: one allocation, period 256 (no chunk boundary is aligned)."""
    return bytes(range(256)) * (BIG // 256)


def digest(v):
    return hashlib.sha256(v).digest()


def reopen(dev, keep=None):
    gc.collect()
    return FlashStore.open(dev, keep)


def records_of(dev, typ):
    """Count the valid records of type ``typ`` in the log (through a fresh mount)."""
    fs = reopen(dev)
    n = 0
    from block_backend.records import OK, scan_records

    for b in fs._log_order():
        buf = fs._read(b, 0, fs.B)
        for pos, t, ln, st in scan_records(buf, fs.data_start, fs._region_end(b, buf), fs.P):
            if st == OK and t == typ:
                n += 1
        buf = None
    return n


def test_a_64k_value_is_written_read_back_and_survives_reopen_and_compaction():
    dev = big_device()
    fs = FlashStore.format(dev)
    main = repo_on(fs).main()
    v = big_value()
    want = digest(v)
    main.set("blobs/firmware.bin", v)
    v = None
    gc.collect()
    main.set("blobs/version", 3)
    got = main.get("blobs/firmware.bin")
    assert len(got) == BIG and digest(got) == want
    got = None
    assert records_of(dev, T_MANIFEST) == 1 and records_of(dev, T_CHUNK) >= 16
    fs2 = reopen(dev)
    m2 = repo_on(fs2).main()
    assert digest(m2.get("blobs/firmware.bin")) == want
    assert m2.get("blobs/version") == 3
    fs2.compact()
    assert digest(m2.get("blobs/firmware.bin")) == want
    rep = fs2.fsck()
    assert rep["clean"], rep
    fs3 = reopen(dev)
    assert digest(repo_on(fs3).main().get("blobs/firmware.bin")) == want
    assert records_of(dev, T_MANIFEST) == 1  # the copy; the old blocks are erased
    # the same value again is found, not stored twice
    fs3.objects.add_pieces([b"B\x5a\x00\x01\x00\x00", big_value()])
    assert records_of(dev, T_MANIFEST) == 1


def test_a_value_bigger_than_a_block_never_wedges_the_store():
    dev = RamFlash(1024, 32, 16)
    fs = FlashStore.format(dev)
    main = repo_on(fs).main()
    main.set("big", "x" * 5000)  # a text: encoded, then chunked by the store
    main.set("small", 1)
    main.set("bytes", b"\x01" * 4500)
    assert main.get("big") == "x" * 5000 and main.get("small") == 1
    assert main.get("bytes") == b"\x01" * 4500
    fs2 = reopen(dev)
    m2 = repo_on(fs2).main()
    assert m2.get("big") == "x" * 5000 and m2.get("bytes") == b"\x01" * 4500
    fs2.compact()
    assert m2.get("big") == "x" * 5000
    assert fs2.fsck()["clean"]


def test_a_value_too_big_for_the_device_is_refused_and_the_store_stays_usable():
    dev = RamFlash(1024, 32, 16)
    fs = FlashStore.format(dev)
    main = repo_on(fs).main()
    main.set("a", 1)
    head = main.head()
    exc = raises(DeviceFull, main.set, "huge", b"\x02" * 40000)
    assert "40" in str(exc) and "bytes" in str(exc), str(exc)
    assert main.head() == head
    raises(KeyError, main.get, "huge")
    main.set("b", 2)  # the next write works
    assert main.get("a") == 1 and main.get("b") == 2
    assert fs._pending == []
    fs2 = reopen(dev)
    assert repo_on(fs2).main().get("b") == 2
    assert fs2.fsck()["clean"]


def test_a_big_commit_message_is_chunked_and_compacted():
    dev = RamFlash(1024, 32, 16)
    fs = FlashStore.format(dev, keep=2)
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
    dev = RamFlash(1024, 32, 16)
    fs = FlashStore.format(dev)
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
    dev = RamFlash(1024, 40, 16)
    fs = FlashStore.format(dev)
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
    dev = RamFlash(1024, 40, 16)
    fs = FlashStore.format(dev)
    repo = repo_on(fs)
    repo.main().set("base", 1)
    repo.main().clone("side")
    side = repo.branch("side")
    fill(side, 2500, 40)
    fs.compact()  # compaction of a full device works
    assert repo.main().get("base") == 1
    repo.remove_branch("side")
    assert repo.branches() == ["main"]
    main = repo.main()
    for i in range(4):
        main.set("w%d" % i, b"\x09" * 2500)
    fs2 = reopen(dev)
    r2 = repo_on(fs2)
    assert r2.branches() == ["main"] and r2.main().get("w3") == b"\x09" * 2500
    assert fs2.fsck()["clean"]
