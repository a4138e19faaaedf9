"""Slices (export / import with every id verified) and revert, after Irmin's suite."""

from portable_core import snapshot
from portable_core.snapshot import SliceError
from portable_support import new_repo, raises


def build_history(repo):
    main = repo.main()
    ids = []
    for i in range(6):
        ids.append(main.set("cfg/k%d" % (i % 3), i))
    dev = main.clone("dev")
    dev.set("dev/x", [1, 2])
    ids.append(main.merge_with_branch("dev"))
    return ids


def test_slice_round_trip_preserves_every_id():
    src = new_repo()
    ids = build_history(src)
    head = src.main().head()
    data = snapshot.export_bytes(src.objects, [head])
    dst = new_repo()
    heads, count = snapshot.import_bytes(dst.objects, data)
    assert heads == [head]
    assert count == len(src.objects)  # everything is reachable from main
    for oid in src.objects.iterate():
        assert dst.objects.get(oid) == src.objects.get(oid)
    dst.main().set_head(head)
    assert dst.main().get("dev/x") == [1, 2]
    assert [c.id for c in dst.main().log()] == [c.id for c in src.main().log()]
    assert ids[-1] == head


def test_slice_depth_and_min_bounds():
    src = new_repo()
    main = src.main()
    ids = [main.set("k", i) for i in range(8)]
    shallow = new_repo()
    snapshot.import_bytes(shallow.objects, snapshot.export_bytes(src.objects, [ids[-1]], depth=2))
    present = [oid for oid in ids if shallow.objects.mem(oid)]
    assert present == ids[-3:]
    ranged = new_repo()
    snapshot.import_bytes(ranged.objects, snapshot.export_bytes(src.objects, [ids[-1]], min=[ids[4]]))
    assert [oid for oid in ids if ranged.objects.mem(oid)] == ids[4:]
    commits_only = new_repo()
    heads, count = snapshot.import_bytes(
        commits_only.objects, snapshot.export_bytes(src.objects, [ids[-1]], full=False))
    assert count == len(ids)


def test_import_refuses_a_wrong_id():
    src = new_repo()
    build_history(src)
    data = bytearray(snapshot.export_bytes(src.objects, [src.main().head()]))
    # change one byte inside the last object's raw bytes (just before the trailer)
    data[-12] ^= 0x01
    exc = raises(SliceError, snapshot.import_bytes, new_repo().objects, bytes(data))
    assert "hash" in str(exc) or "damaged" in str(exc) or "malformed" in str(exc), str(exc)


def test_import_refuses_truncated_and_foreign_streams():
    src = new_repo()
    build_history(src)
    data = snapshot.export_bytes(src.objects, [src.main().head()])
    for cut in (0, 5, len(data) // 2, len(data) - 1):
        raises(SliceError, snapshot.import_bytes, new_repo().objects, data[:cut])
    from portable_core import cbor

    raises(SliceError, snapshot.import_bytes, new_repo().objects, cbor.encode({"x": 1}))
    raises(SliceError, snapshot.import_bytes, new_repo().objects, data + b"\x00")


def test_import_refuses_missing_head():
    src = new_repo()
    build_history(src)
    head = src.main().head()
    data = snapshot.export_bytes(src.objects, [head], full=False, depth=0)
    dst = new_repo()
    heads, count = snapshot.import_bytes(dst.objects, data)
    assert count == 1 and dst.objects.mem(head)
    from portable_core import cbor

    fake = cbor.encode({"sprig": "slice", "version": 1, "heads": [b"\x01" * 32]}) + cbor.encode({"end": 0})
    exc = raises(SliceError, snapshot.import_bytes, new_repo().objects, fake)
    assert "head" in str(exc)


def test_revert_resets_branch():
    repo = new_repo()
    main = repo.main()
    first = main.set("a", 1)
    main.set("a", 2)
    main.set("b", 3)
    main.revert(first)
    assert main.get("a") == 1 and not main.mem("b")
    assert main.head() == first


def test_references_of_each_object_kind():
    repo = new_repo()
    main = repo.main()
    main.set("a/b", 1)
    head = main.head_commit()
    assert snapshot.references(repo.objects.get(head.id)) == [head.tree]
    root_refs = snapshot.references(repo.objects.get(head.tree))
    assert len(root_refs) == 1
    sub_refs = snapshot.references(repo.objects.get(root_refs[0]))
    assert snapshot.references(repo.objects.get(sub_refs[0])) == []
