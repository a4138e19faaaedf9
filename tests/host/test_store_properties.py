"""Store-level properties (CPython, hypothesis): merges with an ancestor are
fast-forwards, merges are symmetric where they should be, slices preserve ids."""

from hypothesis import given, settings, strategies as st

from portable_core import merge, snapshot
from portable_core.conflict import MergeConflictError
from portable_core.memstore import MemObjectStore, MemRefStore
from portable_core.store import Repo

keys = st.sampled_from(["a", "b", "c/d", "c/e", "f/g/h"])
values = st.one_of(st.integers(-5, 5), st.text(max_size=3), st.none())
edits = st.lists(st.tuples(keys, st.one_of(values, st.just("<remove>"))), max_size=6)


def new_repo(policy=None):
    return Repo(MemObjectStore(), MemRefStore(), clock=None, merge_policy=policy)


def apply(branch, ops):
    for key, value in ops:
        if value == "<remove>":
            branch.remove(key)
        else:
            branch.set(key, value)


@settings(max_examples=60, deadline=None)
@given(base=edits, ours=edits)
def test_merging_with_an_ancestor_is_a_fast_forward(base, ours):
    repo = new_repo()
    main = repo.main()
    main.set("root", 0)
    apply(main, base)
    dev = main.clone("dev")
    apply(dev, ours)
    # main is an ancestor of dev: merging dev into main is a fast-forward
    head = main.merge_with_branch("dev")
    assert head == dev.head()
    # and merging main (an ancestor) into dev changes nothing
    assert dev.merge_with_branch("main") == dev.head()


@settings(max_examples=60, deadline=None)
@given(base=edits, left=edits, right=edits)
def test_branch_merge_is_symmetric(base, left, right):
    repo = new_repo(merge.by_path({"": merge.default}))
    main = repo.main()
    main.set("root", 0)
    apply(main, base)
    a = main.clone("a")
    b = main.clone("b")
    apply(a, left)
    apply(b, right)
    a2 = a.clone("a2")
    b2 = b.clone("b2")
    try:
        a2.merge_with_branch("b")
        one = a2.tree().hash()
    except MergeConflictError as exc:
        one = ("conflict", exc.conflict.path)
    try:
        b2.merge_with_branch("a")
        two = b2.tree().hash()
    except MergeConflictError as exc:
        two = ("conflict", exc.conflict.path)
    assert one == two


@settings(max_examples=40, deadline=None)
@given(history=st.lists(edits, min_size=1, max_size=5), branch_ops=edits)
def test_slice_round_trip_preserves_every_id(history, branch_ops):
    src = new_repo()
    main = src.main()
    main.set("root", 0)
    for ops in history:
        apply(main, ops)
    dev = main.clone("dev")
    apply(dev, branch_ops)
    heads = sorted(set([main.head(), dev.head()]))
    data = snapshot.export_bytes(src.objects, heads)
    dst = new_repo()
    got_heads, count = snapshot.import_bytes(dst.objects, data)
    assert got_heads == heads
    assert sorted(dst.objects.iterate()) == sorted(src.objects.iterate())
    for oid in src.objects.iterate():
        assert dst.objects.get(oid) == src.objects.get(oid)
