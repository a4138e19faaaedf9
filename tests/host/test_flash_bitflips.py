"""Bit flips (data retention errors) anywhere in a FlashStore's used area.

A store on a RamFlash gets a few dozen commits on three branches (and a merge);
its image is the pristine copy. Each example flips 1-3 bits -- in record bytes
(objects, ref updates, snapshots, summaries), block headers and footers, or the
erased space of used blocks -- then checks:

- opening either works or raises StorageError (never another exception type);
- every object id ever written reads back as exactly its bytes, or raises
  StorageError (never wrong bytes, never a silent miss, never another type);
- every ref either points at a commit that was written under that name, or the
  ref read raises StorageError; no ref appears that was never written;
- fsck (repair=False) reports damage when a byte of a record changed, summary
  records included.

Record extents come from the pristine image by the layout in docs/SPEC.md
(records ``type u8, len u16, hcrc u8, payload, crc32`` from ``2H``; headers
of ``H`` bytes at 0 and ``H``, footer at ``B - H``).
"""

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from block_backend.devices import RamFlash
from block_backend.faults import flip_bit
from block_backend.flashstore import FlashStore
from portable_core import retention
from portable_core.storage import StorageError
from portable_core.store import Repo

BS = 2048
BC = 24
PS = 16
H = (12 + PS - 1) // PS * PS


class Recording:
    """Wraps an ObjectStore: remembers every object written (id -> bytes)."""

    def __init__(self, inner, seen):
        self.inner = inner
        self.seen = seen

    def add(self, raw, base=None, base_raw=None):
        oid = self.inner.add(raw, base, base_raw)
        self.seen[bytes(oid)] = bytes(raw)
        return oid

    def __getattr__(self, name):
        return getattr(self.inner, name)


def build():
    """Return (image, objects {id: raw}, ref values {name: set of ids})."""
    dev = RamFlash(BS, BC, PS)
    fs = FlashStore.format(dev, retention=retention)
    objects = {}
    refs = {}
    repo = Repo(Recording(fs.objects, objects), fs.refs, author="t", clock=None)
    rng = random.Random(11)

    def note_refs():
        for name in fs.refs.list():
            refs.setdefault(name, set()).add(bytes(fs.refs.get(name)))

    main = repo.main()
    main.transaction(lambda t: [t.set("cfg/k%02d" % i, "v%d" % i) for i in range(24)], message="fill")
    note_refs()
    main.clone("dev")
    main.clone("feature")
    branches = [main, repo.branch("dev"), repo.branch("feature")]
    for i in range(30):
        b = branches[i % 3]  # each branch its own keys: the merge has no conflict
        b.set("cfg/k%02d" % (8 * (i % 3) + rng.randrange(8)), "c%d-%d" % (i, rng.randrange(1000)))
        note_refs()
    main.set("only/main", 1)
    repo.branch("dev").set("only/dev", 2)
    note_refs()
    main.merge_with_branch("dev")
    note_refs()
    return dev.snapshot(), objects, refs


IMAGE, OBJECTS, REFS = build()


T_SUM = 5


def record_bytes(image):
    """Return (addresses covered by records other than summaries, addresses covered
    by summary records, used blocks)."""
    covered = set()
    summaries = set()
    used = []
    for b in range(BC):
        base = b * BS
        alloc = image[base + H:base + 2 * H]
        if alloc[:4] != b"SPRA":
            continue
        used.append(b)
        pos = 2 * H
        end = BS - H
        while pos < end:
            if image[base + pos] == 0xFF:
                pos = (pos + PS) // PS * PS
                continue
            n = image[base + pos + 1] | (image[base + pos + 2] << 8)
            assert pos + 8 + n <= end, "pristine image: record overruns block %d at %d" % (b, pos)
            span = range(base + pos, base + pos + 8 + n)
            (summaries if image[base + pos] == T_SUM else covered).update(span)
            pos += 8 + n
    return covered, summaries, used


RECORD_BYTES, SUMMARY_BYTES, USED_BLOCKS = record_bytes(IMAGE)
RECORD_LIST = sorted(RECORD_BYTES | SUMMARY_BYTES)
FOOTER_BYTES = {b * BS + off for b in USED_BLOCKS for off in range(BS - H, BS - H + 12)
                if IMAGE[b * BS + BS - H:b * BS + BS - H + 4] == b"SPRF"}
NON_ERASED = [a for b in USED_BLOCKS for a in range(b * BS, (b + 1) * BS) if IMAGE[a] != 0xFF]


def test_pristine_store_is_sound():
    fs = FlashStore.open(RamFlash(BS, BC, PS, image=IMAGE), retention=retention)
    assert fs.fsck()["clean"]
    for oid, raw in OBJECTS.items():
        assert fs.objects.get(oid) == raw
    assert len(USED_BLOCKS) >= 4, "the workload should span several blocks"
    assert SUMMARY_BYTES, "some blocks should be sealed with a summary"
    assert set(fs.refs.list()) == set(REFS)


address = st.one_of(
    st.sampled_from(RECORD_LIST),  # record bytes: objects, refs, snapshots, summaries
    st.sampled_from(NON_ERASED),  # anything written: headers, footers too
    st.builds(lambda b, off: b * BS + off, st.sampled_from(USED_BLOCKS), st.integers(0, BS - 1)),
)
flips = st.lists(st.tuples(address, st.integers(0, 7)), min_size=1, max_size=3)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flips)
def test_bit_flips_never_give_wrong_answers(flip_list):
    dev = RamFlash(BS, BC, PS, strict=False, image=IMAGE)  # flips are physical: programs AND
    for addr, bit in flip_list:
        flip_bit(dev, addr // BS, addr % BS, bit)
    image = dev.snapshot()
    changed = [a for a in {a for a, _ in flip_list} if image[a] != IMAGE[a]]
    try:
        fs = FlashStore.open(dev, retention=retention)
    except StorageError:
        return
    for oid, raw in OBJECTS.items():
        try:
            got = fs.objects.get(oid)
        except StorageError:
            continue
        assert got == raw, "object %s read back wrong (%r)" % (oid.hex(), got)
    try:
        names = fs.refs.list()
    except StorageError:
        names = []
    for name in names:
        assert name in REFS, "ref %r was never written" % name
        try:
            oid = fs.refs.get(name)
        except StorageError:
            continue
        assert oid is not None and bytes(oid) in REFS[name], \
            "ref %r points at %r, never written there" % (name, oid)
    rep = fs.fsck(repair=False)
    if any(a in RECORD_BYTES or a in SUMMARY_BYTES or a in FOOTER_BYTES for a in changed):
        assert not rep["clean"] and (rep["damaged"] or rep["missing"] or rep["refs"] is None), \
            "fsck missed a flipped record byte: %r" % rep


def flip_then_repair(addr, bit, what):
    """Flip ``bit`` of byte ``addr`` of the store image: every object still reads,
    fsck names ``what`` as damaged, and a repair leaves a clean store with the
    same heads."""
    dev = RamFlash(BS, BC, PS, strict=False, image=IMAGE)  # flips are physical: programs AND
    flip_bit(dev, addr // BS, addr % BS, bit)
    fs = FlashStore.open(dev, retention=retention)
    for oid, raw in OBJECTS.items():
        assert fs.objects.get(oid) == raw
    rep = fs.fsck()
    assert not rep["clean"] and any(what in d for d in rep["damaged"]), rep
    heads = {name: fs.refs.get(name) for name in fs.refs.list()}
    fs.fsck(repair=True)
    fs2 = FlashStore.open(dev, retention=retention)
    assert fs2.fsck()["clean"]
    assert {name: fs2.refs.get(name) for name in fs2.refs.list()} == heads


def test_fsck_reports_a_damaged_summary():
    # inside the payload of the first block's summary
    flip_then_repair(min(SUMMARY_BYTES) + 10, 0, "summary")


def test_fsck_reports_a_damaged_footer():
    # the summary offset in the first sealed block's footer
    flip_then_repair(min(FOOTER_BYTES) + 5, 2, "footer")
