"""Exhaustive power loss on FlashStore: a cut after every program and erase, torn too.

One run of a workload (60 commits: random keys and values on three branches,
merges, two explicit compactions plus the automatic ones) on a recording device
gives the op log. For each op N and each tear variant (the op whole, one prog unit,
half, all but one; none of it is the previous op's whole case) the device image a cut at op N leaves is rebuilt
from the log (the same bytes a replay with ``FaultyFlash(cut_at=N, torn=k)``
leaves, checked against FaultyFlash for a sample), and the store is reopened:
fsck is clean, each branch head is an acknowledged commit or the one being
written, every acknowledged commit is still readable, and (for a sample of cut
points) the store takes a new commit and stays clean.
"""

import random

from block_backend.devices import RamFlash
from block_backend.faults import FaultyFlash, PowerCut, tear_variants
from block_backend.flashstore import FlashStore
from harness.op_recording import Recorder, apply_op
from portable_core import retention
from portable_core.store import Repo

BS = 1024
BC = 96
PS = 16


def clock_factory():
    state = [1000]

    def clock():
        state[0] += 1
        return state[0]

    return clock


def workload(dev, on_phase):
    """Run the workload; ``on_phase(j, branch)`` before step j, returns results."""
    rng = random.Random(7)
    fs = FlashStore.format(dev, retention=retention)
    repo = Repo(fs.objects, fs.refs, author="t", clock=clock_factory())
    results = []  # (branch, head id) per step, None for steps that change no head
    branches = ["main"]
    step = 0
    commits = 0
    while commits < 60:
        step += 1
        r = rng.random()
        if r < 0.08 and len(branches) < 3:
            name = "b%d" % len(branches)
            on_phase(step, name)
            repo.main().clone(name)
            branches.append(name)
            results.append((name, repo.branch(name).head()))
        elif r < 0.18 and len(branches) > 1:
            a, b = rng.sample(branches, 2)
            on_phase(step, a)
            head = repo.branch(a).merge_with_branch(b)
            commits += 1
            results.append((a, head))
        elif commits in (20, 45) and results and results[-1][0] != "compact":
            on_phase(step, None)
            fs.compact()
            results.append(("compact", None))
        else:
            br = rng.choice(branches)
            on_phase(step, br)
            head = repo.branch(br).set("%s/k%d/x%d" % (br, rng.randrange(4), rng.randrange(3)),
                                       "v%d" % rng.randrange(1000))
            commits += 1
            results.append((br, head))
    return fs, results


def check_image(image, phase, results, step_branch, write=False):
    fs = FlashStore.open(RamFlash(BS, BC, PS, image=image), retention=retention)
    rep = fs.fsck()
    assert rep["clean"], rep
    acked = {}
    for j in range(1, phase):
        br, head = results[j - 1]
        if br != "compact":
            acked[br] = head
    allowed_extra = None
    if phase <= len(results) and results[phase - 1][0] != "compact":
        allowed_extra = results[phase - 1]
    heads = {r[6:]: fs._refs[r] for r in fs._refs}
    for br, head in heads.items():
        ok = acked.get(br) == head
        if not ok and allowed_extra is not None:
            ok = allowed_extra == (br, head)
        assert ok, (phase, br)
    for br in acked:
        assert br in heads, (phase, br)
    for j in range(1, phase):
        head = results[j - 1][1]
        if head is not None:
            assert fs.objects.get(head) is not None
    if write:
        repo = Repo(fs.objects, fs.refs, author="t", clock=clock_factory())
        repo.main().set("after/cut", "yes")
        assert repo.main().get("after/cut") == "yes"
        fs2 = FlashStore.open(RamFlash(BS, BC, PS, image=fs.dev.snapshot()), retention=retention)
        assert fs2.fsck()["clean"]
        assert Repo(fs2.objects, fs2.refs).main().get("after/cut") == "yes"


def test_power_cut_after_every_op_whole_and_torn():
    dev = Recorder(BS, BC, PS)
    phase_branch = {}

    def on_phase(j, br):
        dev.phase = j
        phase_branch[j] = br

    fs, results = workload(dev, on_phase)
    ops = dev.ops
    assert fs.compactions >= 2
    assert sum(1 for r in results if r[0] != "compact") >= 50
    # the format's ops (phase 0) included: a cut there leaves no store or an empty one
    img = bytearray(b"\xff" * (BS * BC))
    cases = 0
    erases = 0
    expected = 0
    for n, op in enumerate(ops):
        phase = op[4]
        units = (BS if op[0] == "e" else len(op[3])) // PS
        for torn in tear_variants(units):
            if torn == 0:
                continue  # nothing landed: the image of the previous op's whole case
            if phase > 0:
                expected += 1
            cut = bytearray(img)
            apply_op(cut, op, BS, None if torn is None else torn * PS)
            if phase > 0:
                check_image(bytes(cut), phase, results, phase_branch.get(phase),
                            write=(n % 37 == 0))
                cases += 1
        if op[0] == "e":
            erases += 1
        apply_op(img, op, BS)
    print("power-loss cut points: %d ops (%d erases), %d cut images checked" % (len(ops), erases, cases))
    # every op after the format, whole and each tear variant, was checked
    assert cases == expected and cases >= len(ops) - 2 * BC - 4


def test_rebuilt_images_match_faultyflash():
    """Spot check: the image rebuilt from the log is what FaultyFlash's cut leaves."""
    dev = Recorder(BS, BC, PS)
    workload(dev, lambda j, br: setattr(dev, "phase", j))
    ops = dev.ops
    for n in (len(ops) // 3, len(ops) - 3):
        for torn in (None, 1):
            img = bytearray(b"\xff" * (BS * BC))
            for op in ops[:n - 1]:
                apply_op(img, op, BS)
            op = ops[n - 1]
            apply_op(img, op, BS, None if torn is None else min(torn * PS, BS if op[0] == "e" else len(op[3])))
            raw = RamFlash(BS, BC, PS)
            ff = FaultyFlash(raw, cut_at=n, torn=torn)
            try:
                workload(ff, lambda j, br: None)
                raise AssertionError("no power cut")
            except PowerCut:
                pass
            assert raw.snapshot() == bytes(img), (n, torn)
