"""FlashStore on a NOR RamFlash: Repo round trip, reopen, bit flips, full device,
compaction with retention, fsck, and a power cut at every op of a small workload
(whole and torn). Portable: CPython, MicroPython unix, QEMU firmware (16 KiB devices)."""

import gc

from block_backend.devices import RamFlash
from block_backend.faults import FaultyFlash, PowerCut, flip_bit
from block_backend.flashstore import DeviceFull, FlashStore, NotFormatted
from block_backend.psramflash import PSRAM_BASE, PsramFlash, psram_available
from portable_core import retention
from portable_core.storage import StorageError, object_id
from portable_support import repo_on

BS = 1024
BC = 16
PS = 16


def new_dev():
    return RamFlash(BS, BC, PS)


def reopen(dev, keep=None):
    gc.collect()
    return FlashStore.open(dev, keep, retention=retention)


def raises(exc_type, fn, *args):
    try:
        fn(*args)
    except exc_type as exc:
        return exc
    raise AssertionError("expected %s" % exc_type.__name__)


def test_unformatted_device():
    raises(NotFormatted, FlashStore.open, new_dev())


def test_objects_and_refs_round_trip():
    dev = new_dev()
    fs = FlashStore.format(dev, retention=retention)
    oid = fs.objects.add(b"B\x63abc")
    assert oid == object_id(b"B\x63abc")
    assert fs.objects.get(oid) == b"B\x63abc" and fs.objects.mem(oid)
    assert fs.objects.add(b"B\x63abc") == oid
    assert fs.refs.get("heads/x") is None
    assert fs.refs.test_and_set("heads/x", None, oid)
    assert not fs.refs.test_and_set("heads/x", None, oid)
    assert fs.refs.list() == ["heads/x"]
    fs2 = reopen(dev)
    assert fs2.refs.get("heads/x") == oid
    assert fs2.objects.get(oid) == b"B\x63abc"
    assert list(fs2.objects.iterate()) == [oid]
    assert fs2.objects.get(b"\x01" * 32) is None
    fs2.refs.remove("heads/x")
    assert reopen(fs2.dev).refs.list() == []


def test_repo_on_flash_survives_reopen():
    dev = new_dev()
    fs = FlashStore.format(dev, retention=retention)
    repo = repo_on(fs)
    main = repo.main()
    for i in range(12):
        main.set("k%d" % (i % 5), "v%d" % i)
    head = main.head()
    repo.main().clone("dev")
    repo.branch("dev").set("only/dev", 1)
    repo.main().merge_with_branch("dev")
    fs2 = reopen(dev)
    r2 = repo_on(fs2)
    assert r2.branches() == ["dev", "main"]
    assert r2.main().get("k1") == "v11" and r2.main().get("only/dev") == 1
    assert fs2.objects.get(head) is not None
    rep = fs2.fsck()
    assert rep["clean"], rep


def test_programs_are_aligned_and_never_twice():
    dev = new_dev()  # strict: a 0 -> 1 program raises
    fs = FlashStore.format(dev, retention=retention)
    repo = repo_on(fs)
    for i in range(10):
        repo.main().set("a", i)
    assert dev.stats()["prog_bytes"] % PS == 0


def test_bit_flips_are_detected():
    dev = new_dev()
    fs = FlashStore.format(dev, retention=retention)
    oid = fs.objects.add(b"B\x6512345")
    fs.refs.set("heads/main", oid)
    img = dev.snapshot()
    # every bit of the record area of the first block (the object and the ref)
    start = img.find(b"\x65" + b"12345") - 6
    checked = 0
    d = dev
    for off in range(start, start + 80):
        for bit in (0, 3, 7):
            d.restore(img)
            flip_bit(d, 0, off, bit)
            try:
                f = FlashStore.open(d, retention=retention)
                got = f.objects.get(oid)
                assert got is None or got == b"B\x6512345"
                if got is None:
                    raise AssertionError("object silently lost at %d" % off)
                ref = f.refs.get("heads/main")
                assert ref == oid, off
            except StorageError:
                pass
            checked += 1
    assert checked == 240


def test_device_full_loses_nothing():
    dev = new_dev()
    fs = FlashStore.format(dev, retention=retention)
    repo = repo_on(fs)
    main = repo.main()
    done = []
    try:
        for i in range(400):
            main.set("k%d" % i, "value %d" % i)
            done.append(i)
    except DeviceFull:
        pass
    assert 10 < len(done) < 400
    fs2 = reopen(dev)
    r2 = repo_on(fs2)
    for i in done:
        assert r2.main().get("k%d" % i) == "value %d" % i
    assert fs2.fsck()["clean"]


def test_compaction_with_retention_and_wear():
    dev = new_dev()
    fs = FlashStore.format(dev, keep=2, retention=retention)
    repo = repo_on(fs)
    main = repo.main()
    for i in range(150):
        main.set("k%d" % (i % 4), i)
    assert fs.compactions >= 2
    fs2 = reopen(dev)
    assert fs2.keep == 2
    assert repo_on(fs2).main().get("k1") == 149
    assert fs2.fsck()["clean"]
    counts = [c for c in fs2.erase_counts() if c]
    assert max(counts) <= 2 * (sum(counts) / len(counts)) + 1


def test_compaction_copies_only_the_uncommitted_objects_not_their_blocks():
    # the head block holds the garbage and the orphan; on the firmware the device
    # lives in the board's PSRAM (after the module's other tests the heap has no
    # free 32 KiB block left)
    if psram_available():
        dev = PsramFlash(PSRAM_BASE + 0x80000, 4096, 8, PS, erase=True)
    else:
        dev = RamFlash(4096, 8, PS)
    fs = FlashStore.format(dev, keep=1, retention=retention)
    main = repo_on(fs).main()
    for i in range(12):
        main.set("k%d" % (i % 3), "v%d" % i)  # older versions: garbage with keep=1
    fs.compact()
    base = len(list(fs.objects.iterate()))
    for i in range(6):
        main.set("k%d" % (i % 3), "w%d" % i)  # garbage in the head block
    orphan = fs.objects.add(b"B\x68uncommitted")
    fs.flush()  # on flash, no ref reaches it yet: compaction must keep it
    fs.compact()
    assert fs.objects.get(orphan) == b"B\x68uncommitted"
    # the live objects are as many as before (same shape), plus the orphan
    assert len(list(fs.objects.iterate())) == base + 1
    assert fs.fsck()["clean"]


def test_adding_what_was_just_found_absent_searches_once():
    dev = new_dev()
    fs = FlashStore.format(dev, retention=retention)
    repo_on(fs).main().set("a", 1)
    raw = b"B\x65fresh"
    oid = object_id(raw)
    assert not fs.objects.mem(oid)
    dev.reset_stats()
    assert fs.objects.add(raw) == oid
    assert dev.stats()["reads"] == 0  # what a tree write does: mem, then add
    assert fs.objects.mem(oid) and len(fs._pending) == 1
    fs.objects.add(raw)  # pending already: not twice
    assert len(fs._pending) == 1
    fs.flush()
    assert not fs.objects.mem(object_id(b"B\x65other"))
    fs.objects.add(raw)  # on flash now: found, not stored again
    assert len(fs._pending) == 0 and fs.objects.get(oid) == raw
    assert fs.fsck()["objects"] == len(list(fs.objects.iterate()))


class NativeLike:
    """Only the block protocol, like esp32.Partition or rp2.Flash: no prog_size."""

    def __init__(self, dev):
        self.dev = dev

    def readblocks(self, b, buf, off=0):
        self.dev.readblocks(b, buf, off)

    def writeblocks(self, b, buf, off=0):
        self.dev.writeblocks(b, buf, off)

    def ioctl(self, op, arg):
        return self.dev.ioctl(op, arg)


def test_a_device_with_only_the_block_protocol_works():
    dev = new_dev()
    fs = FlashStore.format(NativeLike(dev), retention=retention)
    assert fs.P == 16
    repo_on(fs).main().set("a/b", "c")
    f2 = FlashStore.open(NativeLike(dev), retention=retention)
    assert repo_on(f2).main().get("a/b") == "c" and f2.fsck()["clean"]
    f3 = FlashStore.open(dev, retention=retention)  # the same store through the full device
    assert repo_on(f3).main().get("a/b") == "c"


def test_fsck_reports_damage_and_repairs():
    dev = new_dev()
    fs = FlashStore.format(dev, retention=retention)
    repo = repo_on(fs)
    repo.main().set("a", 1)
    garbage = fs.objects.add(b"B\x66zzzzzz")
    fs.flush()
    at = -1
    for b in range(BC):  # a block at a time: the firmware's heap is fragmented by now
        at = bytes(dev.read_raw(b * BS, BS)).find(b"zzzzzz")
        if at >= 0:
            break
    flip_bit(dev, b, at, 0)  # one bit: corrected by the CRC, reported
    f = FlashStore.open(dev, retention=retention)
    assert f.objects.get(garbage) == b"B\x66zzzzzz"
    rep = f.fsck()
    assert not rep["clean"] and [d for d in rep["damaged"] if "flipped bit corrected" in d], rep
    flip_bit(dev, b, at + 2, 3)  # two bits: damaged
    d = dev
    f = FlashStore.open(d, retention=retention)
    rep = f.fsck()
    assert not rep["clean"] and rep["damaged"] and rep["refs"]["heads/main"] == "ok"
    raises(StorageError, f.objects.get, garbage)
    f.fsck(repair=True)
    f2 = reopen(d)
    assert f2.fsck()["clean"]
    assert repo_on(f2).main().get("a") == 1
    assert f2.objects.get(garbage) is None


def workload(dev, acked):
    fs = FlashStore.format(dev, retention=retention)
    repo = repo_on(fs)
    for i in range(10):
        br = "main" if i % 3 else "b"
        if i == 1:
            br = "b"
        acked.append((br, None))
        if i == 1:  # (cloning main, which has no head yet, would remove b)
            acked[-1] = ("main", None)
            repo.branch("b").clone("main")
            acked[-1] = ("main", repo.main().head())
            continue
        head = repo.branch(br).set("k%d" % (i % 3), i)
        acked[-1] = (br, head)
        if i == 3:
            acked.append(("compact", None))
            fs.compact()
            acked[-1] = ("compact", "done")
    return fs


def test_power_cut_at_every_op():
    dev = new_dev()
    rec = FaultyFlash(dev, record=True)
    workload(rec, [])
    total = rec.ops
    rec = None
    cases = 0
    for n in range(BC * 2 + 1, total + 1):
        for torn in (None, 1):
            dev.fill_erased()
            gc.collect()
            ff = FaultyFlash(dev, cut_at=n, torn=torn)
            acked = []
            try:
                workload(ff, acked)
                raise AssertionError("no cut")
            except PowerCut:
                pass
            f = FlashStore.open(ff.device, retention=retention)
            assert f.fsck()["clean"], (n, torn)
            want = {}
            for br, head in acked[:-1]:
                if br != "compact":
                    want[br] = head
            for name in f.refs.list():
                head = f.refs.get(name)
                br = name[6:]
                assert want.get(br) == head or (acked[-1][0] == br), (n, br)
            for br in want:
                assert f.refs.get("heads/" + br) is not None
            for br, head in acked[:-1]:
                if head is not None and br != "compact":
                    assert f.objects.get(head) is not None
            cases += 1
    print("cut points: %d ops, %d cases" % (total - BC * 2, cases))
    assert cases >= 2 * (total - BC * 2)


def test_miss_filter_reads_little_and_never_hides_objects():
    dev = new_dev()
    fs = FlashStore.format(dev, retention=retention)
    main = repo_on(fs).main()
    heads = []
    for i in range(14):
        heads.append(main.set("k%d" % (i % 6), "value %d" % i))
    assert len(fs.filt) == BC * (BS // 128)
    for f in (fs, reopen(dev)):  # filters built at seal time, then at mount
        sealed = [b for b in f._log_order() if f.filt_ok[b]]
        assert len(sealed) >= 3
        dev.reset_stats()
        for i in range(16):
            assert not f.objects.mem(bytes((i, 7, 9, i)) * 8)
        # without the filter every sealed block's footer + summary is read per miss
        assert dev.stats()["read_bytes"] <= 16 * 2 * 16 * len(sealed) // 4, dev.stats()
        for h in heads:
            assert f.objects.get(h) is not None
        assert repo_on(f).main().get("k3") == "value 9"


def test_without_filter_ram_lookups_read_the_summaries():
    dev = new_dev()
    fs = FlashStore.format(dev, filter_ram=BC * (BS // 128) - 1, retention=retention)  # filters would not fit
    assert fs.FB == 0 and len(fs.filt) == 0
    main = repo_on(fs).main()
    heads = []
    for i in range(14):
        heads.append(main.set("k%d" % (i % 6), "value %d" % i))
    f2 = FlashStore.open(dev, filter_ram=0, retention=retention)
    for f in (fs, f2):
        sealed = [b for b in f._log_order() if f.head_sealed or b != f.head]
        assert len(sealed) >= 3
        dev.reset_stats()
        assert not f.objects.mem(bytes((1, 7, 9, 1)) * 8)
        # a miss reads every sealed block's footer and summary
        assert dev.stats()["reads"] >= 2 * (len(sealed) - 1), dev.stats()
        for h in heads:
            assert f.objects.get(h) is not None
        assert repo_on(f).main().get("k3") == "value 9"
        assert f.fsck()["clean"]
