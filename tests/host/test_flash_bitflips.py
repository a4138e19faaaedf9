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
(records ``type u8, len u16, hcrc u8, payload, crc32`` from ``E + H``; the
format header of ``E`` bytes at 0, the alloc header of ``H`` bytes at ``E``,
footer at ``B - H``).

A single flipped bit in a record is corrected (by its CRC syndrome) and reported:
the newest ref record's last unit included, where it used to look like a torn
write and silently drop the latest commit. Flips in erased space are never
programmed over: commits after them succeed on a strict device.
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
E = (24 + PS - 1) // PS * PS


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
        alloc = image[base + E:base + E + H]
        if alloc[:4] != b"SPRA":
            continue
        used.append(b)
        pos = E + H
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
        assert rep["corrected"] or not rep["clean"] and (rep["damaged"] or rep["missing"] or rep["refs"] is None), \
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


def newest_ref_record(image):
    """Return (block, offset, end) of the newest ref record: the last T_REF of the
    block with the highest seq."""
    import struct

    from block_backend.records import OK, T_REF, scan_records

    best = None
    for b in USED_BLOCKS:
        seq = struct.unpack("<I", image[b * BS + E + 4:b * BS + E + 8])[0]
        if best is None or seq > best[0]:
            best = (seq, b)
    b = best[1]
    buf = bytearray(image[b * BS:(b + 1) * BS])
    last = None
    for pos, typ, n, st in scan_records(buf, E + H, BS - H, PS):
        if st == OK and typ == T_REF:
            last = (b, pos, pos + 8 + n)
    return last


def test_every_single_flip_in_the_newest_ref_record_keeps_the_latest_commit():
    b, pos, end = newest_ref_record(IMAGE)
    fs = FlashStore.open(RamFlash(BS, BC, PS, image=IMAGE), retention=retention)
    heads = {name: fs.refs.get(name) for name in fs.refs.list()}
    tails = 0
    unit = (end - 1) // PS * PS
    for off in range(pos, end):  # every bit of the header and the last unit, one bit elsewhere
        for bit in range(8) if off < pos + 4 or off >= unit else (off % 8,):
            dev = RamFlash(BS, BC, PS, strict=False, image=IMAGE)
            flip_bit(dev, b, off, bit)
            fs = FlashStore.open(dev, retention=retention)
            assert {name: fs.refs.get(name) for name in fs.refs.list()} == heads, (off, bit)
            rep = fs.fsck()
            note = "block %d offset %d: flipped bit corrected" % (b, pos)
            assert note in rep["damaged"] + rep["corrected"], (off, bit, rep)
            tails += note in rep["corrected"]
    # the flips that leave the last unit erased-looking read as "corrected", the rest as damage
    assert tails <= 8 * PS


def test_a_flip_that_makes_the_last_unit_look_erased_is_not_a_torn_write():
    # craft it: a ref record whose last prog unit holds one byte with a single 0 bit
    from block_backend.records import T_REF, encode_record

    b, pos, end = newest_ref_record(IMAGE)
    fs = FlashStore.open(RamFlash(BS, BC, PS, image=IMAGE), retention=retention)
    head = fs.refs.get("heads/main")
    start = (end + PS - 1) // PS * PS  # append one more ref record, as the next commit would
    for i in range(5000):  # a record ending one byte into a unit, a CRC top byte of one 0 bit
        nm = b"heads/t%d" % i
        nm += b"y" * ((8 - len(nm)) % PS)  # 9 + len(name) + 32 bytes: one byte past a unit
        rec = encode_record(T_REF, bytes((len(nm),)) + nm + head)
        if len(rec) % PS == 1 and bin(rec[-1] ^ 0xFF).count("1") == 1:
            break
    else:
        raise AssertionError("no such record length")
    dev = RamFlash(BS, BC, PS, strict=False, image=IMAGE)
    dev.writeblocks(b, bytes(rec) + b"\xff" * (-len(rec) % PS), start)
    unit = start + len(rec) - 1
    flip_bit(dev, b, unit, [i for i in range(8) if not rec[-1] >> i & 1][0])  # now 0xFF
    assert dev.read_raw(b * BS + unit, PS) == b"\xff" * PS
    fs = FlashStore.open(dev, retention=retention)
    assert fs.refs.get(nm.decode()) == head, "the record was taken for a torn write"
    rep = fs.fsck()
    assert ["block %d offset %d: flipped bit corrected" % (b, start)] == rep["corrected"], rep


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, BC * BS - 1), st.integers(0, 7)), min_size=1, max_size=4))
def test_flips_in_erased_space_are_never_programmed(flip_list):
    dev = RamFlash(BS, BC, PS, strict=True, image=IMAGE)  # strict: a program over a flip fails
    for addr, bit in flip_list:
        if IMAGE[addr] == 0xFF and addr % BS >= E + H and addr not in RECORD_BYTES \
                and addr not in SUMMARY_BYTES and addr not in FOOTER_BYTES:  # erased space
            flip_bit(dev, addr // BS, addr % BS, bit)
    fs = FlashStore.open(dev, keep=2, retention=retention)
    repo = Repo(fs.objects, fs.refs, author="t", clock=None)
    main = repo.main()
    fs.refs.remove("heads/dev")  # main alone: what compaction keeps stays small
    fs.refs.remove("heads/feature")
    for i in range(80):  # the head fills, blocks are allocated, the log is compacted
        main.set("cfg/k%02d" % (i % 24), "after %d" % i)
    fs2 = FlashStore.open(dev, retention=retention)
    main2 = Repo(fs2.objects, fs2.refs, author="t", clock=None).main()
    assert main2.head() == main.head()
    assert main2.get("cfg/k07") == "after 79"
    assert fs.compactions >= 2
