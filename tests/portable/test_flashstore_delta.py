"""FlashStore delta records: edits stored against their base (ObjectStore.add's
``base``), rebuilt and verified by sha256 on read, bounded chains, rebased full by
compaction, a damaged base reported, bytes programmed per one-key commit.
Portable: CPython, MicroPython unix, QEMU firmware (small devices)."""

import gc
import hashlib

from block_backend import delta
from block_backend.devices import RamFlash
from block_backend.faults import flip_bit
from block_backend.flashstore import FlashStore
from portable_core import retention
from block_backend.records import OK, T_DELTA, T_OBJ, scan_records
from portable_core.storage import StorageError
from portable_support import repo_on

CHAIN = 8


def record_types(fs):
    """Return {type: count} over the valid records of the log."""
    out = {}
    for b in fs._log_order():
        buf = fs._read(b, 0, fs.B)
        for pos, typ, n, st in scan_records(buf, fs.data_start, fs._region_end(b, buf), fs.P):
            if st == OK:
                out[typ] = out.get(typ, 0) + 1
        buf = None
        gc.collect()
    return out


def test_diff_apply_round_trip():
    base = bytes(range(256)) * 3
    cases = [
        base[:100] + b"XY" + base[102:],
        base[:10] + b"inserted!" + base[10:500] + base[520:],
        base[:5] + b"\x00" * 40 + base[45:700] + b"tail",
        b"",
        base,
        base[300:],
        base + b"more",
    ]
    for new in cases:
        runs = delta.diff(base, new, 10000)
        p = delta.encode(hashlib.sha256(new).digest(), 7, 96, 1, len(new), runs)
        assert delta.apply(base, p) == new
        assert delta.rebuilds(base, p, new) and delta.rebuilds(bytearray(base), p, new)
        if new:
            wrong = bytearray(new)
            wrong[len(new) // 2] ^= 1
            assert not delta.rebuilds(base, p, wrong)
            assert not delta.rebuilds(base, p, new[:-1]) and not delta.rebuilds(base, p, new + b"!")
        assert not delta.rebuilds(base[:-1], p, new) or delta.apply(base[:-1], p) == new
        h = delta.parse_head(p)
        assert h[1] == 7 and h[2] == 96 and h[3] == 1 and h[4] == len(new)
    # two separate small edits give two small runs
    new = base[:50] + b"a" + base[51:600] + b"b" + base[601:]
    runs = delta.diff(base, new, 10000)
    assert len(runs) == 2 and sum(len(r[2]) for r in runs) == 2
    assert delta.diff(base, b"completely different" * 20, 50) is None
    # a wrong base is refused
    assert delta.apply(base[:20], delta.encode(b"abcd", 1, 0, 1, len(new), runs)) is None


def test_one_key_commits_store_deltas_and_stay_small():
    dev = RamFlash(1024, 20, 16)
    fs = FlashStore.format(dev, retention=retention)
    main = repo_on(fs).main()
    gc.collect()
    main.transaction(lambda t: [t.set("config/d%d/key%03d" % (i % 4, i), "value%d" % i) for i in range(16)])
    dev.reset_stats()
    heads = []
    for i in range(10):
        gc.collect()
        heads.append(main.set("config/d%d/key%03d" % (i * 7 % 16 % 4, i * 7 % 16), "new%d" % i))
        gc.collect()
    per = dev.stats()["prog_bytes"] / 10
    assert per <= 512, per
    types = record_types(fs)
    assert types.get(T_DELTA, 0) >= 10, types
    fs2 = FlashStore.open(dev, retention=retention)
    m2 = repo_on(fs2).main()
    for i in range(16):
        want = "value%d" % i
        for j in range(10):
            if j * 7 % 16 == i:
                want = "new%d" % j
        assert m2.get("config/d%d/key%03d" % (i % 4, i)) == want
    for h in heads:
        assert fs2.objects.get(h) is not None
    assert fs2.fsck()["clean"]


def test_chains_are_bounded_and_compaction_rebases():
    gc.collect()
    dev = RamFlash(1024, 32, 16)
    fs = FlashStore.format(dev, retention=retention)
    fs.max_chain = CHAIN  # a short bound keeps this test small (default MAX_DEPTH)
    main = repo_on(fs).main()
    main.transaction(lambda t: [t.set("d/k%02d" % i, i) for i in range(20)])
    for i in range(2 * CHAIN + 2):
        main.set("d/k05", 1000 + i)
        gc.collect()
    deepest = max_chain(fs)
    assert 1 <= deepest <= CHAIN
    start = fs.next_seq
    fs.compact()
    # compaction keeps history as reverse deltas against the copies it made
    assert 1 <= max_chain(fs, start) <= CHAIN
    types = record_types(fs)
    assert types.get(T_OBJ, 0) > 0, types
    fs2 = FlashStore.open(dev, retention=retention)
    assert repo_on(fs2).main().get("d/k05") == 1000 + 2 * CHAIN + 1
    assert fs2.fsck()["clean"]
    # deltas again after the compaction, against the rebased copies
    before = record_types(fs2).get(T_DELTA, 0)
    m2 = repo_on(fs2).main()
    m2.set("d/k06", "x")
    assert record_types(fs2).get(T_DELTA, 0) > before
    assert FlashStore.open(dev, retention=retention).fsck()["clean"]


def max_chain(fs, min_seq=0):
    """Rebuild every delta record; return the deepest chain (bases all >= min_seq)."""
    deepest = 0
    for b in fs._log_order():
        buf = fs._read(b, 0, fs.B)
        offs = [pos for pos, typ, n, st in scan_records(buf, fs.data_start, fs._region_end(b, buf), fs.P)
                if st == OK and typ == T_DELTA]
        buf = None
        for pos in offs:
            m = fs._materialize(b, pos, [False])
            assert m is not None and fs.seq_of(m[2]) >= min_seq
            deepest = max(deepest, m[1])
        gc.collect()
    return deepest


def test_damaged_base_is_reported_not_returned():
    gc.collect()
    dev = RamFlash(1024, 24, 16)
    fs = FlashStore.format(dev, retention=retention)
    main = repo_on(fs).main()
    main.transaction(lambda t: [t.set("d/k%02d" % i, "v%d" % i) for i in range(20)])
    big = main.tree().find_tree("d")
    head = main.set("d/k03", "changed")
    # find the full record of the original "d" node and a delta against it
    target = None
    for b in fs._log_order():
        buf = fs._read(b, 0, fs.B)
        for pos, typ, n, st in scan_records(buf, fs.data_start, fs._region_end(b, buf), fs.P):
            if st == OK and typ == T_DELTA:
                h = delta.parse_head(buf[pos + 4:pos + 4 + n])
                target = (fs._block_of_seq(h[1]), h[2])
        buf = None
    assert target is not None
    flip_bit(dev, target[0], target[1] + 20, 2)
    fs2 = FlashStore.open(dev, retention=retention)
    rep = fs2.fsck()
    assert not rep["clean"]
    try:
        got = repo_on(fs2).main().get("d/k03")
        raise AssertionError("damaged base returned %r" % (got,))
    except StorageError:
        pass
    except Exception as exc:  # the tree layer may wrap the missing node
        assert "missing" in str(exc) or "damaged" in str(exc), exc
    assert big is not None and head is not None
