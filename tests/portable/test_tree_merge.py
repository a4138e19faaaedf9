"""Trees: diff and three-way merge_trees (clean merges, conflicts, short-circuits)."""

import gc

from portable_core.conflict import MISSING, Conflict, is_conflict
from portable_core.node import bucket
from portable_core.memstore import MemObjectStore
from portable_core.tree import Tree
from portable_core.tree_merge import merge_trees


class CountingStore(MemObjectStore):
    """A MemObjectStore counting reads."""

    def __init__(self):
        MemObjectStore.__init__(self)
        self.gets = 0

    def get(self, oid):
        self.gets += 1
        return MemObjectStore.get(self, oid)


def three_way(old, a, b):
    """Plain three-way rule: equal sides, or the side that changed; else conflict."""
    if a == b:
        return a
    if old == a:
        return b
    if old == b:
        return a
    return Conflict("both changed")


def counter(old, a, b):
    """Concurrent increments add up (MISSING counts as 0)."""
    o = 0 if old is MISSING else old
    return (0 if a is MISSING else a) + (0 if b is MISSING else b) - o


def plain(path):
    return three_way


def tree_of(pairs):
    t = Tree.empty()
    for p, v in pairs:
        t = t.add(p, v)
    return t


def contents(t):
    return list(t.walk())


def test_diff_basic():
    a = tree_of([("x", 1), ("d/y", 2), ("d/z", 3), ("e/f", 4)])
    b = tree_of([("x", 10), ("d/y", 2), ("d/w", 5), ("g", 6)])
    assert a.diff(a) == []
    assert a.diff(b) == [
        ("d/w", "added", MISSING, 5),
        ("d/z", "removed", 3, MISSING),
        ("e/f", "removed", 4, MISSING),
        ("g", "added", MISSING, 6),
        ("x", "updated", 1, 10),
    ]
    back = b.diff(a)
    assert [(p, c) for p, c, _, _ in back] == [
        ("d/w", "removed"),
        ("d/z", "added"),
        ("e/f", "added"),
        ("g", "removed"),
        ("x", "updated"),
    ]
    assert Tree.empty().diff(a) == [(p, "added", MISSING, v) for p, v in contents(a)]


def test_diff_kind_changes_sorted():
    a = tree_of([("x", 1), ("y/z", 2), ("y/w", 3)])
    b = tree_of([("x/q", 1), ("y", 7)])
    assert a.diff(b) == [
        ("x", "removed", 1, MISSING),
        ("x/q", "added", MISSING, 1),
        ("y", "added", MISSING, 7),
        ("y/w", "removed", 3, MISSING),
        ("y/z", "removed", 2, MISSING),
    ]


def test_diff_stored_does_not_load_equal_subtrees():
    s = CountingStore()
    t = Tree.empty()
    for i in range(20):
        t = t.add(("big", "k" + str(i)), i)
    for i in range(60):
        t = t.add(("wide", "w" + str(i)), i)
        if i % 8 == 0:
            gc.collect()
    t = t.add("small", 0)
    oid = t.write(s)
    t = None
    a = Tree.of_node(s, oid)
    b = a.add("small", 1).add("wide/w5", -5)
    s.gets = 0
    d = a.diff(b)
    assert d == [("small", "updated", 0, 1), ("wide/w5", "updated", 5, -5)]
    # b is in RAM; from a: the root, wide's inner node, one bucket of wide, and the
    # two old values. Never "big", never wide's other buckets.
    assert s.gets == 5, s.gets
    b2 = Tree.of_node(s, b.write(s))
    s.gets = 0
    assert a.diff(b2) == d
    assert s.gets <= 12, s.gets


def test_merge_disjoint_changes():
    o = tree_of([("a", 1), ("b", 2), ("d/x", 3)])
    a = o.add("a", 10).add("d/y", 4)
    b = o.remove("b").add("e/f", 5)
    m = merge_trees(None, o, a, b, plain)
    assert not is_conflict(m)
    assert contents(m) == [("a", 10), ("d/x", 3), ("d/y", 4), ("e/f", 5)]
    m2 = merge_trees(None, o, b, a, plain)
    assert m2.hash() == m.hash()


def test_merge_fast_forward_and_identity():
    o = tree_of([("a", 1), ("d/x", 3)])
    x = o.add("d/y", 9)
    assert merge_trees(None, o, o, x, plain) is x
    assert merge_trees(None, o, x, o, plain) is x
    assert merge_trees(None, o, o, o, plain) is o
    assert merge_trees(None, None, x, x, plain).hash() == x.hash()
    assert merge_trees(None, Tree.empty(), Tree.empty(), x, plain) is x


def test_merge_conflict_has_path():
    o = tree_of([("a/b/c", 1), ("z", 0)])
    a = o.add("a/b/c", 2)
    b = o.add("a/b/c", 3)
    c = merge_trees(None, o, a, b, plain)
    assert is_conflict(c)
    assert c.path == "a/b/c"
    assert c.reason == "both changed"
    # first conflict by path order, whichever side is first
    a2 = a.add("q", 1)
    b2 = b.add("q", 2)
    assert merge_trees(None, o, a2, b2, plain) == merge_trees(None, o, b2, a2, plain)
    assert merge_trees(None, o, a2, b2, plain).path == "a/b/c"


def test_merge_add_add():
    o = tree_of([("k", 0)])
    same = merge_trees(None, o, o.add("n", 5), o.add("n", 5), plain)
    assert contents(same) == [("k", 0), ("n", 5)]
    diff = merge_trees(None, o, o.add("n", 5), o.add("n", 6), plain)
    assert is_conflict(diff) and diff.path == "n"


def test_merge_calls_f_for_same_change_on_both_sides():
    o = tree_of([("c", 5), ("d/c", 1)])
    a = o.add("c", 6).add("d/c", 2)
    b = o.add("c", 6).add("d/c", 2)
    m = merge_trees(None, o, a, b, lambda path: counter)
    assert contents(m) == [("c", 7), ("d/c", 3)]


def test_merge_remove_vs_change():
    o = tree_of([("a", 1), ("b", 2)])
    r = merge_trees(None, o, o.remove("a"), o.add("a", 5), plain)
    assert is_conflict(r) and r.path == "a"
    ok = merge_trees(None, o, o.remove("a"), o.add("b", 3), plain)
    assert contents(ok) == [("b", 3)]
    gone = merge_trees(None, o, o.remove("a"), o.remove("a"), plain)
    assert contents(gone) == [("b", 2)]


def test_merge_f_can_remove():
    o = tree_of([("a", 1), ("b", 1)])

    def drop(old, a, b):
        return MISSING

    m = merge_trees(None, o, o.add("a", 2), o.add("a", 3), lambda p: drop)
    assert contents(m) == [("b", 1)]
    m = merge_trees(None, tree_of([("d/a", 1)]), tree_of([("d/a", 2)]),
                    tree_of([("d/a", 3)]), lambda p: drop)
    assert m.is_empty()


def test_merge_policy_by_path():
    o = tree_of([("n/c", 1), ("x", 1)])
    a = o.add("n/c", 2).add("x", 2)
    b = o.add("n/c", 3).add("x", 2)
    seen = []

    def for_path(path):
        seen.append(path)
        return counter if path.startswith("n/") else three_way

    m = merge_trees(None, o, a, b, for_path)
    assert contents(m) == [("n/c", 4), ("x", 2)]
    assert sorted(seen) == ["n/c", "x"]


def test_merge_contents_vs_subtree():
    o = tree_of([("p", 1), ("q", 0)])
    a = o.add("p/x", 1)  # p becomes a directory
    b = o.add("p", 2)  # p changed as contents
    c = merge_trees(None, o, a, b, plain)
    assert is_conflict(c) and c.path == "p", c
    assert merge_trees(None, o, b, a, plain) == c
    # one side unchanged: no conflict, the changed side wins
    m = merge_trees(None, o, a, o.add("q", 5), plain)
    assert contents(m) == [("p/x", 1), ("q", 5)]
    # removed on one side, turned into a directory on the other
    m = merge_trees(None, o, o.remove("p"), a, plain)
    assert contents(m) == [("p/x", 1), ("q", 0)]


def test_merge_subtree_short_circuit_reads_little():
    s = CountingStore()
    t = Tree.empty()
    for d in ("left", "right"):
        for i in range(40):
            t = t.add((d, "k" + str(i)), i)
            if i % 8 == 0:
                gc.collect()
    o = Tree.of_node(s, t.write(s))
    t = None
    a = Tree.of_node(s, o.add("left/k1", -1).write(s))
    b = Tree.of_node(s, o.add("right/k2", -2).add("left/k30", -30).write(s))
    gc.collect()
    s.gets = 0
    m = merge_trees(s, o, a, b, plain)
    assert not is_conflict(m)
    # 3 roots, "left" in o/a/b (3 inner nodes), the changed buckets (4), one more
    # leaf of a to apply b's change; "right" is taken from b by id, unread, and no
    # value is read (each path changed on one side only)
    assert s.gets <= 11, s.gets
    assert m.find("left/k1") == -1 and m.find("left/k30") == -30
    assert m.find("right/k2") == -2 and m.find("right/k3") == 3
    mid = m.write(s)
    assert merge_trees(s, o.hash(), b.hash(), a.hash(), plain).hash() == mid


def test_merge_split_directory_changes():
    # changes in one split directory, in different buckets and in the same bucket
    names = ["n" + str(i) for i in range(70)]
    o = Tree.empty()
    for i in range(len(names)):
        o = o.add((names[i],), i)
    gc.collect()
    seen = {}
    for n in names:  # two names sharing a bucket
        i = bucket(n, 0)
        if i in seen:
            x, y = seen[i], n
            break
        seen[i] = n
    a = o.add(x, "a").remove("n69")
    b = o.add(y, "b").add("new", 1)
    m = merge_trees(None, o, a, b, plain)
    want = o.add(x, "a").remove("n69").add(y, "b").add("new", 1)
    assert m.hash() == want.hash()
    assert merge_trees(None, o, b, a, plain).hash() == want.hash()
