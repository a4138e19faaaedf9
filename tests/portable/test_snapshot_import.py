"""Slice import checks its whole input: every defect raises SliceError naming it,
and a refused slice leaves the store as it was (import_bytes: nothing added;
import_slice: only verified objects, no ref moved)."""

from portable_core import cbor, snapshot
from portable_core.objects import TAG_COMMIT, TAG_CONTENTS, TAG_NODE, encode_object
from portable_core.snapshot import SliceError
from portable_core.storage import object_id
from portable_support import new_repo, raises, repo_on


def source():
    repo = new_repo()
    main = repo.main()
    main.set("cfg/a", 1)
    main.set("cfg/b", [1, 2])
    main.clone("dev").set("dev/x", "y")
    main.merge_with_branch("dev")
    return repo


def header(heads, **extra):
    h = {"sprig": "slice", "version": 1, "heads": heads}
    for k in extra:
        h[k] = extra[k]
    return cbor.encode(h)


def pair(raw, oid=None):
    return cbor.encode([object_id(raw) if oid is None else oid, raw])


def trailer(n):
    return cbor.encode({"end": n})


def state(repo):
    """Everything a user can see of a store: its object ids and its refs."""
    return sorted(repo.objects.iterate()), [(r, repo.refs.get(r)) for r in repo.refs.list()]


def refused(data, *words):
    """Import ``data`` into a store holding one commit; assert SliceError naming
    ``words`` and that the store did not change."""
    dst = new_repo()
    dst.main().set("mine", 1)
    before = state(dst)
    exc = raises(SliceError, snapshot.import_bytes, dst.objects, data)
    for w in words:
        assert w in str(exc), (w, str(exc))
    assert state(dst) == before
    return exc


def test_header_heads_that_are_not_ids():
    for bad in (5, "abc", b"x" * 31, b"x" * 33, [1], {"a": 1}, None, 10 ** 30, True, 1.5):
        refused(header([bad]) + trailer(0), "head 0", "32-byte id")
    refused(header([b"\x01" * 32, 7]) + trailer(0), "head 1")


def test_header_fields():
    refused(cbor.encode({"x": 1}) + trailer(0), "not a Sprig slice")
    refused(cbor.encode([1, 2]) + trailer(0), "not a Sprig slice")
    refused(header([], extra=1) + trailer(0), "unknown field", "extra")
    for version in (2, 0, True, "1", None):
        h = cbor.encode({"sprig": "slice", "version": version, "heads": []})
        refused(h + trailer(0), "version")
    for heads in (None, b"\x01" * 32, {"h": 1}, 3):
        h = cbor.encode({"sprig": "slice", "version": 1, "heads": heads})
        refused(h + trailer(0), "heads")


def test_object_items():
    raw = encode_object(TAG_CONTENTS, 5)
    refused(header([]) + cbor.encode([object_id(raw)[:31], raw]) + trailer(1), "object 0", "not 32 bytes")
    refused(header([]) + cbor.encode([5, raw]) + trailer(1), "not 32 bytes")
    refused(header([]) + cbor.encode([object_id(raw), "text"]) + trailer(1), "not a byte string")
    refused(header([]) + cbor.encode([object_id(raw)]) + trailer(1), "[id, raw] pair")
    refused(header([]) + cbor.encode(7) + trailer(1), "[id, raw] pair")
    refused(header([]) + pair(raw, b"\x00" * 32) + trailer(1), "do not hash to its id")


def test_malformed_objects_with_right_ids():
    for raw in (b"", b"\x42", b"\x99\x01", b"\x42\x18\x01", encode_object(TAG_COMMIT, [1, 2]),
                encode_object(TAG_NODE, [0, [["b", 0, b"\x01" * 32], ["a", 0, b"\x01" * 32]]]),
                encode_object(TAG_NODE, [0, [["a", 5, b"\x01" * 32]]]),
                encode_object(TAG_NODE, [1, 0, 3, []]), encode_object(TAG_NODE, [7])):
        refused(header([]) + pair(raw) + trailer(1), "object 0")


def test_node_child_missing():
    node = encode_object(TAG_NODE, [0, [["a", 0, b"\x01" * 32]]])
    refused(header([]) + pair(node) + trailer(1), "neither earlier in the slice nor stored")
    # the child earlier in the slice is fine; after the node it is not
    leaf = encode_object(TAG_CONTENTS, "leaf")
    node = encode_object(TAG_NODE, [0, [["a", 0, object_id(leaf)]]])
    dst = new_repo()
    assert snapshot.import_bytes(dst.objects, header([]) + pair(leaf) + pair(node) + trailer(2)) == ([], 2)
    refused(header([]) + pair(node) + pair(leaf) + trailer(2), "neither earlier")


def test_trailer_and_length():
    raw = encode_object(TAG_CONTENTS, 5)
    refused(header([]) + pair(raw) + trailer(2), "trailer says 2", "read 1")
    refused(header([]) + pair(raw) + cbor.encode({"end": True}), "trailer says True")
    refused(header([]) + pair(raw) + cbor.encode({"end": 1, "more": 0}), "unknown field")
    refused(header([]) + pair(raw) + trailer(1) + b"\x00", "after the slice trailer")
    refused(header([]) + pair(raw), "cut short")
    refused(b"", "cut short")


def test_heads_must_be_commits():
    raw = encode_object(TAG_CONTENTS, 5)
    refused(header([object_id(raw)]) + pair(raw) + trailer(1), "is not a commit")
    refused(header([b"\x02" * 32]) + trailer(0), "not in the slice or the store")
    # a head already stored (and a commit) needs no objects
    dst = new_repo()
    head = dst.main().set("k", 1)
    assert snapshot.import_bytes(dst.objects, header([head]) + trailer(0)) == ([head], 0)


def test_every_cut_and_flip_of_a_real_slice_is_refused_without_change():
    src = source()
    data = snapshot.export_bytes(src.objects, [src.main().head()])
    step = len(data) // 23 + 1
    for cut in range(0, len(data), step):
        refused(data[:cut])
    for pos in range(0, len(data), step):
        bad = bytearray(data)
        bad[pos] ^= 0x10
        refused(bytes(bad))


def test_stream_import_keeps_only_verified_objects():
    src = source()
    data = bytearray(snapshot.export_bytes(src.objects, [src.main().head()]))
    data[len(data) // 2] ^= 0x01
    dst = new_repo()
    dst.main().set("mine", 1)
    objects_before, refs = state(dst)
    pos = [0]

    def read(n):
        pos[0] += n
        return bytes(data[pos[0] - n:pos[0]])

    raises(SliceError, snapshot.import_slice, dst.objects, read)
    objects_after, refs_after = state(dst)
    assert refs_after == refs
    added = [oid for oid in objects_after if oid not in objects_before]
    assert 0 < len(added) < len(src.objects)  # objects before the defect, verified
    for oid in added:
        assert dst.objects.get(oid) == src.objects.get(oid)


def test_refused_slice_on_a_flash_store_changes_nothing():
    from block_backend.devices import RamFlash
    from block_backend.flashstore import FlashStore
    from portable_core import retention

    src = source()
    data = snapshot.export_bytes(src.objects, [src.main().head()])
    dev = RamFlash(block_size=1024, block_count=24, prog_size=16)
    fs = FlashStore.format(dev, keep=2, retention=retention)
    repo = repo_on(fs)
    repo.main().set("mine", 1)
    before = state(repo)
    writes = (dev.stats()["programs"], dev.stats()["erases"])
    raises(SliceError, snapshot.import_bytes, fs.objects, data[:-1])
    raises(SliceError, snapshot.import_bytes, fs.objects, header([5]) + data[len(header([src.main().head()])):])
    assert state(repo) == before
    assert (dev.stats()["programs"], dev.stats()["erases"]) == writes  # nothing programmed
    heads, count = snapshot.import_bytes(fs.objects, data)
    assert heads == [src.main().head()] and count == len(src.objects)
    repo.branch("imported").set_head(heads[0])
    assert repo.branch("imported").get("dev/x") == "y"
    assert fs.fsck()["clean"]


def test_a_value_shared_by_two_directories_is_exported_before_both():
    src = new_repo()
    src.main().set("a", 0)
    src.main().set("c/d", 0)  # the same contents object under the root and under c
    data = snapshot.export_bytes(src.objects, [src.main().head()])
    dst = new_repo()
    heads, count = snapshot.import_bytes(dst.objects, data)
    dst.main().set_head(heads[0])
    assert dst.main().get("c/d") == 0 and dst.main().get("a") == 0
