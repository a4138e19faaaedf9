"""Power loss while a 64 KiB value is written, compacted and removed on a 4 KiB-block
FlashStore: a cut after every program and erase, whole and torn.

One run of the workload on a recording device gives the op log; for each op and
each tear variant (the op whole, one prog unit, half, all but one) the image a
cut leaves is rebuilt from the log (as test_flash_powerloss.py does) and the
store is reopened: fsck is clean (it verifies every chunk's CRC and each chunked
object's sha256), each branch head is an acknowledged commit or the one being
written, every acknowledged head is readable; at a sample of cut points the
large values of the heads are read back and compared, and the store takes a new
commit. About 1,000 images: under a minute.
"""

import hashlib

from block_backend.devices import RamFlash
from block_backend.faults import tear_variants
from block_backend.flashstore import FlashStore
from harness.op_recording import Recorder, apply_op
from portable_core import retention
from portable_core.store import Repo

BS = 4096
BC = 64
PS = 16
BIG = bytes(range(256)) * 256  # 64 KiB
MID = bytes(range(7, 207)) * 60  # 12,000 bytes


def ticking():
    state = [1000]

    def clock():
        state[0] += 1
        return state[0]

    return clock


def repo_of(fs):
    return Repo(fs.objects, fs.refs, author="t", clock=ticking())


def workload(dev, on_phase):
    """Run the steps; return the store and, per step, (branch, head) or ("compact", None)."""
    fs = FlashStore.format(dev, retention=retention)
    repo = repo_of(fs)
    steps = [
        ("main", lambda: repo.main().set("cfg/a", 1)),
        ("main", lambda: repo.main().set("blob", BIG)),
        ("main", lambda: repo.main().set("cfg/b", 2)),
        ("compact", fs.compact),
        ("side", lambda: repo.main().clone("side")),
        ("side", lambda: repo.branch("side").set("mid", MID)),
        ("main", lambda: repo.main().set("cfg/c", 3)),
        ("main", lambda: repo.main().remove("blob")),
        ("compact", fs.compact),
        ("side", lambda: repo.branch("side").set("cfg/d", 4)),
    ]
    results = []
    for j, (br, fn) in enumerate(steps, 1):
        on_phase(j)
        fn()
        results.append((br, None if br == "compact" else repo.branch(br).head()))
    return fs, results


def check_image(image, phase, results, deep):
    fs = FlashStore.open(RamFlash(BS, BC, PS, image=image), retention=retention)
    rep = fs.fsck()
    assert rep["clean"], (phase, rep)
    acked = {}
    for br, head in results[:phase - 1]:
        if br != "compact":
            acked[br] = head
    extra = results[phase - 1] if phase <= len(results) else None
    heads = {r[6:]: fs._refs[r] for r in fs._refs}
    for br, head in heads.items():
        assert acked.get(br) == head or extra == (br, head), (phase, br)
    for br in acked:
        assert br in heads, (phase, br)
        assert fs.objects.get(acked[br]) is not None
    if deep:
        repo = repo_of(fs)
        for br in heads:
            b = repo.branch(br)
            for path, want in (("blob", BIG), ("mid", MID)):
                if b.mem(path):
                    assert hashlib.sha256(b.get(path)).digest() == hashlib.sha256(want).digest()
        repo.main().set("after/cut", BIG[:5000])
        fs2 = FlashStore.open(RamFlash(BS, BC, PS, image=fs.dev.snapshot()), retention=retention)
        assert fs2.fsck()["clean"]
        assert repo_of(fs2).main().get("after/cut") == BIG[:5000]


def test_power_cut_while_a_64k_value_is_written_compacted_and_removed():
    dev = Recorder(BS, BC, PS)
    fs, results = workload(dev, lambda j: setattr(dev, "phase", j))
    assert fs.compactions >= 2
    repo = repo_of(FlashStore.open(dev, retention=retention))
    assert repo.branch("side").get("blob") == BIG and repo.branch("side").get("mid") == MID
    img = bytearray(b"\xff" * (BS * BC))
    cases = 0
    for n, op in enumerate(dev.ops):
        phase = op[4]
        units = (BS if op[0] == "e" else len(op[3])) // PS
        for torn in tear_variants(units):
            if torn == 0:
                continue  # nothing landed: the previous op's whole case
            if phase > 0:
                cut = bytearray(img)
                apply_op(cut, op, BS, None if torn is None else torn * PS)
                check_image(bytes(cut), phase, results, deep=(cases % 23 == 0))
                cases += 1
        apply_op(img, op, BS)
    print("power-loss cut points: %d ops, %d cut images checked" % (len(dev.ops), cases))
    assert cases > len(dev.ops)
