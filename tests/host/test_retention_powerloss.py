"""Power cuts on a store that keeps 2 commits per branch (retention is shallow
history): three branches (names sorting before and after "main") committing,
merging each other (a counter merged with a wrong common ancestor counts twice)
and compacting often. A cut after every program and erase, whole and torn (as
test_flash_powerloss.py: the images are rebuilt from one recorded run): the
reopened store holds the last acknowledged commit of every branch (or the one
being written), fsck is clean, history reads work and merges still work.
"""

from block_backend.devices import RamFlash
from block_backend.faults import tear_variants
from block_backend.flashstore import FlashStore
from harness.op_recording import Recorder, apply_op
from portable_core import history, retention
from portable_core.merge import MergePolicy, counter
from portable_core.store import Repo

BS = 1024
BC = 24
PS = 16
NAMES = ["main", "alpha", "zeta"]
PAD = "x" * 48


def ticking(start):
    state = [start]

    def clock():
        state[0] += 1
        return state[0]

    return clock


def repo_of(fs):
    return Repo(fs.objects, fs.refs, author="t", clock=ticking(5000),
                merge_policy=MergePolicy({"count": counter}))


def workload(dev, steps):
    """Run the workload on ``dev``; return ``results``: per phase (1, 2, ...) the
    branch it moved (None: a compaction) and the heads and counts after it."""
    fs = FlashStore.format(dev, keep=2, retention=retention)
    repo = repo_of(fs)
    heads = {}
    seen = {}
    results = []

    def done(name, head, s):
        if name is not None:
            heads[name] = head
            seen[name] = s
        results.append((name, dict(heads), dict((k, len(v)) for k, v in seen.items())))
        dev.phase = len(results) + 1

    dev.phase = 1
    done("main", repo.branch("main").set("count", 0), set())
    for name in NAMES[1:]:
        done(name, repo.branch("main").clone(name).head(), set())

    def merge(into, other):
        head = repo.branch(into).merge_with_branch(other, message="merge")
        done(into, head, seen[into] | seen[other])

    for i in range(steps):
        name = NAMES[i % 3]
        key = "own/%d" % (i % 3)
        br = repo.branch(name)
        br.transaction(lambda t: (t.set("count", t.get("count") + 1), t.set(key, [i, PAD])),
                       message="step %d" % i)
        done(name, br.head(), seen[name] | {i})
        if i % 5 == 4:
            side = NAMES[1 + (i // 5) % 2]
            merge("main", side)
            merge(side, "main")
        if i % 7 == 6:
            merge(NAMES[1], NAMES[2])
        if i % 3 == 2:
            fs.compact()
            done(None, None, None)
    return fs, results


def check_image(image, phase, results, merge=False):
    fs = FlashStore.open(RamFlash(BS, BC, PS, image=image), retention=retention)
    rep = fs.fsck()
    assert rep["clean"], (phase, rep)
    repo = repo_of(fs)
    before = results[phase - 2] if phase >= 2 else (None, {}, {})
    during = results[phase - 1] if phase <= len(results) else before
    state = None
    for cand in (before, during):
        if all(repo.branch(n).head() == cand[1].get(n) for n in NAMES):
            state = cand
    assert state is not None, phase
    heads, counts = state[1], state[2]
    for name in heads:
        br = repo.branch(name)
        assert br.get("count") == counts[name], (phase, name)
        log = br.log()
        ids = [c.id for c in log]
        assert ids[0] == heads[name]
        for oid in log.edge:
            assert fs.objects.mem(history.find_commit(fs.objects, oid).tree)
    if merge and len(heads) == 3:
        # merges still work: two sides into each other, then into main
        alpha, zeta = repo.branch("alpha"), repo.branch("zeta")
        for a, b in ((alpha, zeta), (repo.branch("main"), alpha)):
            before_a = a.get("count")
            lcas = history.lcas(fs.objects, a.head(), b.head())
            assert lcas, phase
            base = repo.tree_of(lcas[0]).get("count") if len(lcas) == 1 else None
            expected = None if base is None else before_a + b.get("count") - base
            a.merge_with_commit(b.head(), message="after cut")
            if expected is not None:
                assert a.get("count") == expected, phase
        assert fs.fsck()["clean"]
        fs2 = FlashStore.open(RamFlash(BS, BC, PS, image=fs.dev.snapshot()), retention=retention)
        assert fs2.fsck()["clean"]


def test_power_cut_at_every_op_of_a_keep_2_store():
    dev = Recorder(BS, BC, PS)
    fs, results = workload(dev, 24)
    assert fs.compactions >= 8, fs.compactions
    img = bytearray(b"\xff" * (BS * BC))
    cases = 0
    for n, op in enumerate(dev.ops):
        phase = op[4]
        units = (BS if op[0] == "e" else len(op[3])) // PS
        for torn in tear_variants(units):
            if torn == 0:
                continue  # the image of the previous op's whole case
            cut = bytearray(img)
            apply_op(cut, op, BS, None if torn is None else torn * PS)
            if phase > 1:
                check_image(bytes(cut), phase, results, merge=(n % 23 == 0 and torn is None))
                cases += 1
        apply_op(img, op, BS)
    print("retention power cuts: %d ops, %d images checked" % (len(dev.ops), cases))
    assert cases >= len(dev.ops)
