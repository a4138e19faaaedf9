"""Property tests (CPython, hypothesis) for portable_core.tree.

Canonical shape: any sequence of adds/removes reaching the same set of contents
gives the same tree hash (with directories big enough to split into inner nodes),
also when the edits are applied to a stored, lazily loaded tree. Merges: merging
with the ancestor is a fast-forward, merges are symmetric for symmetric value
functions, and flat merges agree with a per-key model. Diffs agree with the model.
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from portable_core.conflict import MISSING, is_conflict
from portable_core.merge import counter, default
from portable_core.memstore import MemObjectStore
from portable_core.tree import Tree
from portable_core.tree_merge import merge_trees

settings.register_profile("sprig-tree", max_examples=150, deadline=None)
settings.load_profile("sprig-tree")

# a few short names (deep paths, contents/directory clashes) and many names in one
# directory (splits into inner nodes past 32 entries)
steps = st.one_of(st.sampled_from(["a", "b", "c"]), st.integers(0, 79).map(lambda i: "k%d" % i))
paths = st.lists(steps, min_size=1, max_size=3).map(tuple)
values = st.one_of(st.integers(-3, 3), st.text(max_size=3), st.none(), st.lists(st.integers(0, 2), max_size=2))
# sometimes start with two directories past the flat-node bound
PREFILL = [("add", ("k%d" % i,), i) for i in range(40)] + [
    ("add", ("c", "k%d" % i), i) for i in range(36)
]
ops = st.tuples(
    st.booleans(),
    st.lists(
        st.one_of(
            st.tuples(st.just("add"), paths, values),
            st.tuples(st.just("remove"), paths, st.none()),
        ),
        max_size=120,
    ),
).map(lambda bl: (PREFILL if bl[0] else []) + bl[1])


def model_apply(model, op, path, value):
    """The map path -> value after ``op`` (Irmin semantics)."""
    out = {}
    n = len(path)
    for p, v in model.items():
        if p[:n] == path:  # at or under path: replaced or removed
            continue
        if op == "add" and path[: len(p)] == p:  # contents at a prefix of path
            continue
        out[p] = v
    if op == "add":
        out[path] = value
    return out


def tree_apply(tree, op, path, value):
    return tree.add(path, value) if op == "add" else tree.remove(path)


def tree_of_model(model, order=None):
    t = Tree.empty()
    for p in order if order is not None else sorted(model):
        t = t.add(p, model[p])
    return t


def walk_model(model):
    return [("/".join(p), model[p]) for p in sorted(model)]


@given(ops, st.randoms(use_true_random=False))
def test_hash_depends_only_on_contents(sequence, rnd):
    model = {}
    t = Tree.empty()
    for op, path, value in sequence:
        model = model_apply(model, op, path, value)
        t = tree_apply(t, op, path, value)
    direct = tree_of_model(model)
    assert t.hash() == direct.hash()
    order = sorted(model)
    rnd.shuffle(order)
    assert tree_of_model(model, order).hash() == direct.hash()
    assert list(t.walk()) == walk_model(model)
    for p, v in model.items():
        assert t.find(p) == v


@given(ops, ops)
def test_edits_on_stored_tree_match_memory(first, second):
    store = MemObjectStore()
    t = Tree.empty()
    for op, path, value in first:
        t = tree_apply(t, op, path, value)
    oid = t.write(store)
    assert oid == t.hash()
    lazy = Tree.of_node(store, oid)
    assert list(lazy.walk()) == list(t.walk())
    for op, path, value in second:
        lazy = tree_apply(lazy, op, path, value)
        t = tree_apply(t, op, path, value)
    assert lazy.hash() == t.hash()
    oid2 = lazy.write(store)
    assert oid2 == t.hash()
    fresh = MemObjectStore()
    assert Tree.of_node(store, oid2).write(fresh) == oid2  # copies across stores
    assert list(Tree.of_node(fresh, oid2).walk()) == list(t.walk())


@given(ops, ops)
def test_diff_matches_model(first, second):
    ma, mb = {}, {}
    a, b = Tree.empty(), Tree.empty()
    for op, path, value in first:
        ma = model_apply(ma, op, path, value)
        a = tree_apply(a, op, path, value)
    mb, b = dict(ma), a
    for op, path, value in second:
        mb = model_apply(mb, op, path, value)
        b = tree_apply(b, op, path, value)
    want = []
    for p in sorted(set(ma) | set(mb)):
        va, vb = ma.get(p, MISSING), mb.get(p, MISSING)
        if va is MISSING:
            want.append(("/".join(p), "added", MISSING, vb))
        elif vb is MISSING:
            want.append(("/".join(p), "removed", va, MISSING))
        elif va != vb or type(va) is not type(vb):
            want.append(("/".join(p), "updated", va, vb))
    assert a.diff(b) == want


def build(base, sequence):
    t = base
    for op, path, value in sequence:
        t = tree_apply(t, op, path, value)
    return t


def policy(path):
    return default


@given(ops, ops)
def test_merge_with_ancestor_is_fast_forward(first, second):
    o = build(Tree.empty(), first)
    x = build(o, second)
    assert merge_trees(None, o, o, x, policy).hash() == x.hash()
    assert merge_trees(None, o, x, o, policy).hash() == x.hash()
    store = MemObjectStore()
    oo, ox = o.write(store), x.write(store)
    assert merge_trees(store, oo, oo, ox, policy).hash() == ox


def same_outcome(m1, m2):
    if is_conflict(m1) or is_conflict(m2):
        return m1 == m2
    return m1.hash() == m2.hash()


@given(ops, ops, ops)
def test_merge_symmetric(first, left, right):
    o = build(Tree.empty(), first)
    a = build(o, left)
    b = build(o, right)
    assert same_outcome(merge_trees(None, o, a, b, policy), merge_trees(None, o, b, a, policy))


int_ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 69).map(lambda i: ("k%d" % i,)), st.integers(0, 5)),
        st.tuples(st.just("remove"), st.integers(0, 69).map(lambda i: ("k%d" % i,)), st.none()),
    ),
    max_size=80,
)


@given(int_ops, int_ops, int_ops, st.booleans())
def test_flat_merge_matches_model(first, left, right, use_counter):
    f = counter if use_counter else default
    store = MemObjectStore()
    o = build(Tree.empty(), first)
    a = build(o, left)
    b = build(o, right)
    lazy = [Tree.of_node(store, t.write(store)) for t in (o, a, b)]
    keys = set(p for p, _ in o.walk()) | set(p for p, _ in a.walk()) | set(p for p, _ in b.walk())
    want = {}
    conflict = None
    for k in sorted(keys):
        vo, va, vb = o.find(k), a.find(k), b.find(k)
        if va == vo:  # a side unchanged from old: the other side, f not called
            r = vb
        elif vb == vo:
            r = va
        else:
            r = f(vo, va, vb)
        if is_conflict(r):
            conflict = r.at(k)
            break
        if r is not MISSING:
            want[k] = r
    m = merge_trees(store, lazy[0], lazy[1], lazy[2], lambda p: f)
    if conflict is not None:
        assert is_conflict(m)
        assert m.path == conflict.path
    else:
        assert not is_conflict(m), m
        assert list(m.walk()) == sorted(want.items())
        assert m.hash() == merge_trees(None, o, b, a, lambda p: f).hash()


# hypothesis favours small sets: draw the size first so directories cross 32 often
names = st.integers(0, 80).flatmap(
    lambda n: st.sets(st.integers(0, 99), min_size=n, max_size=n)
)


@given(names, names, st.randoms(use_true_random=False), st.sampled_from([(), ("d",), ("d", "e")]))
def test_split_and_collapse_canonical(start, end, rnd, prefix):
    # grow/shrink one directory across the flat bound (32) in a random order
    t = Tree.empty()
    for i in start:
        t = t.add(prefix + ("n%d" % i,), i)
    edits = [("remove", i) for i in start - end] + [("add", i) for i in end - start]
    rnd.shuffle(edits)
    for op, i in edits:
        p = prefix + ("n%d" % i,)
        t = t.add(p, i) if op == "add" else t.remove(p)
    direct = Tree.empty()
    for i in sorted(end):
        direct = direct.add(prefix + ("n%d" % i,), i)
    assert t.hash() == direct.hash()
    store = MemObjectStore()
    lazy = Tree.of_node(store, build_names(start, prefix).write(store))
    for op, i in edits:
        p = prefix + ("n%d" % i,)
        lazy = lazy.add(p, i) if op == "add" else lazy.remove(p)
    assert lazy.hash() == direct.hash()


def build_names(ids, prefix):
    t = Tree.empty()
    for i in ids:
        t = t.add(prefix + ("n%d" % i,), i)
    return t
