"""Slice import under random corruption (CPython, hypothesis): whatever is done to
a valid slice (bits flipped, bytes replaced, inserted or deleted, the stream cut,
items replaced by other CBOR values), import raises only SliceError, and a refused
slice leaves the store unchanged (import_bytes: not one object added; the streamed
import_slice: only verified objects, no ref moved). A slice that still imports
holds only objects whose bytes hash to their ids."""

from hypothesis import HealthCheck, given, settings, strategies as st

from block_backend.devices import RamFlash
from block_backend.flashstore import FlashStore
from portable_core import cbor, retention, snapshot
from portable_core.cbor_stream import decode_stream
from portable_core.snapshot import SliceError
from portable_core.memstore import MemObjectStore, MemRefStore
from portable_core.storage import object_id
from portable_core.store import Repo


def _source():
    repo = Repo(MemObjectStore(), MemRefStore(), clock=None)
    main = repo.main()
    for i in range(5):
        main.set("cfg/k%d" % i, i)
    main.set("big", {"list": list(range(20)), "text": "x" * 50})
    dev = main.clone("dev")
    dev.set("dev/a/b", [1, 2])
    main.set("cfg/k0", "changed")
    main.merge_with_branch("dev")
    for i in range(40):  # an inner node (more than 32 entries in one directory)
        main.set("many/n%02d" % i, i)
    return repo


SRC = _source()
HEAD = SRC.main().head()
SLICES = [
    snapshot.export_bytes(SRC.objects, [HEAD]),
    snapshot.export_bytes(SRC.objects, [HEAD], depth=1),
    snapshot.export_bytes(SRC.objects, [HEAD], full=False),
    snapshot.export_bytes(SRC.objects, [HEAD, SRC.branch("dev").head()], depth=2),
]

cbor_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), st.floats(),
              st.text(max_size=8), st.binary(max_size=40),
              st.sampled_from([b"\x00" * 32, HEAD, b"\x01" * 31, b"\x02" * 33])),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=8,
)


def _items(data):
    """Split a valid slice into the encodings of its items."""
    out = []
    pos = [0]

    def read(n):
        chunk = data[pos[0]:pos[0] + n]
        pos[0] += len(chunk)
        return chunk

    while pos[0] < len(data):
        start = pos[0]
        decode_stream(read)
        out.append(data[start:pos[0]])
    return out


def _structured(draw, data):
    """Replace, drop, repeat or swap whole items, or rewrite a field of one."""
    items = _items(data)
    kind = draw(st.sampled_from(["replace", "drop", "repeat", "swap", "header", "pair", "trailer"]))
    i = draw(st.integers(0, len(items) - 1))
    if kind == "replace":
        items[i] = cbor.encode(draw(cbor_values))
    elif kind == "drop":
        del items[i]
    elif kind == "repeat":
        items.insert(i, items[draw(st.integers(0, len(items) - 1))])
    elif kind == "swap":
        j = draw(st.integers(0, len(items) - 1))
        items[i], items[j] = items[j], items[i]
    elif kind == "header":
        h = cbor.decode(items[0])
        field = draw(st.sampled_from(["heads", "sprig", "version", "other"]))
        if draw(st.booleans()) and field == "heads":
            h["heads"] = draw(st.lists(cbor_values, max_size=3))
        elif draw(st.booleans()):
            h.pop(field, None)
        else:
            h[field] = draw(cbor_values)
        items[0] = cbor.encode(h)
    elif kind == "pair" and len(items) > 2:
        i = draw(st.integers(1, len(items) - 2))
        oid, raw = cbor.decode(items[i])
        part = draw(st.integers(0, 2))
        if part == 0:
            oid = draw(cbor_values)
        elif part == 1:
            raw = draw(cbor_values)
        else:  # well-formed bytes with their right id, in place of the object
            raw = draw(st.binary(max_size=60))
            oid = object_id(raw)
        items[i] = cbor.encode([oid, raw])
    else:
        items[-1] = cbor.encode({"end": draw(cbor_values)})
    return b"".join(items)


@st.composite
def corrupted(draw):
    data = bytearray(draw(st.sampled_from(SLICES)))
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["flip", "byte", "insert", "delete", "cut", "items"]))
        n = len(data)
        if n == 0:
            data += draw(st.binary(min_size=1, max_size=8))
            continue
        pos = draw(st.integers(0, n - 1))
        if kind == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "byte":
            data[pos] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[pos:pos + draw(st.integers(1, 40))]
        elif kind == "cut":
            del data[pos:]
        else:
            try:
                data = bytearray(_structured(draw, bytes(data)))
            except ValueError:  # earlier byte damage: the items no longer split
                del data[pos:]
    return bytes(data)


def _state(objects, refs):
    return sorted(objects.iterate()), [(r, refs.get(r)) for r in refs.list()]


def _target():
    repo = Repo(MemObjectStore(), MemRefStore(), clock=None)
    repo.main().set("mine", 1)
    return repo


def _check_imported(objects):
    for oid in objects.iterate():
        assert object_id(objects.get(oid)) == oid


@settings(max_examples=400, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=corrupted())
def test_corrupted_slices_raise_only_slice_error_and_change_nothing(data):
    repo = _target()
    before = _state(repo.objects, repo.refs)
    try:
        heads, count = snapshot.import_bytes(repo.objects, data)
    except SliceError:
        assert _state(repo.objects, repo.refs) == before
    else:
        _check_imported(repo.objects)
        assert _state(repo.objects, repo.refs)[1] == before[1]
        for h in heads:
            assert repo.objects.get(h)[0] == 0x43
    # streamed: only verified objects, never a ref
    repo = _target()
    pos = [0]

    def read(n):
        pos[0] += n
        return data[pos[0] - n:pos[0]]

    try:
        snapshot.import_slice(repo.objects, read)
    except SliceError:
        pass
    _check_imported(repo.objects)
    assert _state(repo.objects, repo.refs)[1] == before[1]


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=corrupted())
def test_corrupted_slices_leave_a_flash_store_untouched(data):
    dev = RamFlash(block_size=4096, block_count=16)
    fs = FlashStore.format(dev, keep=2, retention=retention)
    repo = Repo(fs.objects, fs.refs, clock=None)
    repo.main().set("mine", 1)
    image = dev.snapshot()
    try:
        snapshot.import_bytes(fs.objects, data)
    except SliceError:
        assert dev.snapshot() == image
        assert repo.main().get("mine") == 1
    assert fs.fsck()["clean"]
    reopened = FlashStore.open(dev, keep=2, retention=retention)
    assert Repo(reopened.objects, reopened.refs).main().get("mine") == 1


def test_the_valid_slices_import():
    for data in SLICES:
        repo = _target()
        heads, count = snapshot.import_bytes(repo.objects, data)
        assert heads[0] == HEAD and count > 0
