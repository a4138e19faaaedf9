"""Trees: paths, add/find/remove/list/kind, empty directories, hashing, write/reopen."""

from portable_core.conflict import MISSING
from portable_core.objects import TAG_CONTENTS, encode_object
from portable_core.memstore import MemObjectStore
from portable_core.tree import Tree, TreeError, parse_path
from portable_support import raises


def test_parse_path():
    assert parse_path("") == ()
    assert parse_path(()) == ()
    assert parse_path([]) == ()
    assert parse_path("a") == ("a",)
    assert parse_path("a/b/c") == ("a", "b", "c")
    assert parse_path(("a", "b")) == ("a", "b")
    assert parse_path(["x y", "é"]) == ("x y", "é")
    assert parse_path("x" * 255) == ("x" * 255,)


def test_bad_paths():
    bad = [
        "a//b",
        "/a",
        "a/",
        "a/./b",
        "..",
        ("a", ""),
        ("a/b",),
        ("a\x00b",),
        ("x" * 256,),
        ("é" * 128,),  # 256 UTF-8 bytes
        (1,),
        ("a", None),
        5,
        None,
    ]
    t = Tree.empty()
    for path in bad:
        raises(ValueError, parse_path, path)
        raises(ValueError, t.add, path, 1)
        raises(ValueError, t.find, path)
    exc = raises(ValueError, parse_path, "a//b")
    assert "empty" in str(exc)
    exc = raises(ValueError, parse_path, ("a/b",))
    assert "/" in str(exc)


def test_empty_tree():
    t = Tree.empty()
    assert t.is_empty()
    assert t.list() == []
    assert t.list("a") == []
    assert t.find("a") is MISSING
    assert t.find("") is MISSING
    assert t.kind("") == "node"
    assert t.kind("a") is None
    assert not t.mem("a")
    assert t.find_tree("a") is None
    assert t.find_tree("") is t
    assert list(t.walk()) == []
    assert t.remove("a") is t
    assert t.remove("a/b/c") is t
    s = MemObjectStore()
    oid = t.write(s)
    assert oid == t.hash()
    assert len(oid) == 32
    assert s.get(oid) == b"\x54\x82\x00\x80"  # node [0, []]
    r = Tree.of_node(s, oid)
    assert r.is_empty()
    assert r.list() == []
    assert r.equal(t)


def test_add_find_get():
    t = Tree.empty().add("a", 1).add("b/c", "x").add(("b", "d", "e"), [1, {"k": b"v"}])
    assert t.find("a") == 1
    assert t.find("b/c") == "x"
    assert t.find("b/d/e") == [1, {"k": b"v"}]
    assert t.get(("b", "d", "e")) == [1, {"k": b"v"}]
    assert t.find("b") is MISSING  # a subtree, not contents
    assert t.find("zz") is MISSING
    assert t.find("a/b") is MISSING  # under contents
    e = raises(KeyError, t.get, "zz")
    assert e.args[0] == "zz"
    raises(KeyError, t.get, "b")
    raises(ValueError, t.add, "", 1)
    raises(ValueError, t.add, (), 1)


def test_stored_none_is_not_missing():
    t = Tree.empty().add("n", None).add("f", False).add("z", 0)
    assert t.find("n") is None
    assert t.find("f") is False
    assert t.find("z") == 0
    assert t.mem("n") and t.mem("f") and t.mem("z")
    assert t.get("n") is None


def test_values_are_copies():
    t = Tree.empty().add("l", [1, 2])
    v = t.find("l")
    v.append(3)
    assert t.find("l") == [1, 2]


def test_kind_mem_list():
    t = Tree.empty().add("a/b", 1).add("a/c/d", 2).add("e", 3)
    assert t.kind("a") == "node"
    assert t.kind("a/b") == "contents"
    assert t.kind("a/c") == "node"
    assert t.kind("a/x") is None
    assert t.kind("e/f") is None
    assert t.mem("a/b") and not t.mem("a") and not t.mem("a/x")
    assert t.mem_tree("a") and t.mem_tree("a/c") and not t.mem_tree("a/b")
    assert t.mem_tree("")
    assert t.list() == [("a", "node"), ("e", "contents")]
    assert t.list("a") == [("b", "contents"), ("c", "node")]
    assert t.list(("a", "c")) == [("d", "contents")]
    assert t.list("e") == []
    assert t.list("nope") == []


def test_list_sorted_by_utf8():
    names = ["b", "a", "B", "é", "z", "ab", "a b", "\u4e2d", "~"]
    t = Tree.empty()
    for n in names:
        t = t.add((n,), 1)
    got = [n for n, _ in t.list()]
    want = sorted(names, key=lambda n: n.encode("utf-8"))
    assert got == want, got


def test_immutable():
    t1 = Tree.empty().add("a", 1)
    t2 = t1.add("a", 2)
    t3 = t2.remove("a")
    assert t1.find("a") == 1
    assert t2.find("a") == 2
    assert t3.find("a") is MISSING
    assert t1.add("a", 1) is t1  # same value: no new tree


def test_remove_and_empty_dirs_vanish():
    t = Tree.empty().add("a/b/c", 1).add("x", 2)
    t2 = t.remove("a/b/c")
    assert t2.kind("a") is None
    assert t2.list() == [("x", "contents")]
    assert t2.equal(Tree.empty().add("x", 2))
    t3 = t.add("a/b/d", 4).remove("a/b/c")
    assert t3.list("a/b") == [("d", "contents")]
    assert t.remove("a").equal(Tree.empty().add("x", 2))
    assert t.remove("a/b/c/d") is t  # under contents: nothing
    assert t.remove("q/r") is t
    assert t.remove("").is_empty()
    assert t.remove("x").remove("a/b/c").is_empty()


def test_replace_contents_with_dir_and_back():
    t = Tree.empty().add("a", 1)
    t2 = t.add("a/b", 2)
    assert t2.kind("a") == "node"
    assert t2.find("a/b") == 2
    assert t2.find("a") is MISSING
    t3 = t2.add("a", 3)
    assert t3.kind("a") == "contents"
    assert t3.find("a") == 3
    assert t3.find("a/b") is MISSING
    assert t3.equal(Tree.empty().add("a", 3))
    t4 = t2.add("a/b/c", 5)
    assert t4.find("a/b/c") == 5
    assert t4.list("a") == [("b", "node")]


def test_add_tree_find_tree():
    sub = Tree.empty().add("x", 1).add("y/z", 2)
    t = Tree.empty().add("k", 0).add_tree("d/e", sub)
    assert t.find("d/e/x") == 1
    assert t.find("d/e/y/z") == 2
    assert t.find_tree("d/e").equal(sub)
    assert t.find_tree("k") is None
    assert t.find_tree("nope") is None
    assert t.add_tree("d", Tree.empty()).equal(Tree.empty().add("k", 0))
    assert t.add_tree("", sub) is sub
    assert t.add_tree("k", sub).find("k/x") == 1
    assert t.find_tree("").equal(t)


def test_hash_independent_of_order():
    items = [("a/b", 1), ("c", 2), ("a/d/e", 3), ("f/g", [4]), ("a/b2", None)]
    t1 = Tree.empty()
    for p, v in items:
        t1 = t1.add(p, v)
    t2 = Tree.empty()
    for p, v in reversed(items):
        t2 = t2.add(p, v)
    t3 = t2.add("tmp/x", 9).add("c", 7).remove("tmp").add("c", 2)
    assert t1.hash() == t2.hash() == t3.hash()
    assert t1.equal(t2) and t1 == t3
    assert t1 != t1.add("c", 3)
    assert not t1.equal(None)


def test_write_and_reopen():
    s = MemObjectStore()
    t = Tree.empty().add("a/b", 1).add("a/c", "two").add("d", [3])
    h = t.hash()
    oid = t.write(s)
    assert oid == h
    assert t.last_write_objects == 5  # 3 contents, nodes "a" and root
    r = Tree.of_node(s, oid)
    assert r.find("a/b") == 1
    assert r.find("a/c") == "two"
    assert r.find("d") == [3]
    assert r.list() == [("a", "node"), ("d", "contents")]
    assert t.write(s) == oid
    assert t.last_write_bytes == 0 and t.last_write_objects == 0
    r2 = r.add("a/b", 10)
    oid2 = r2.write(s)
    assert r2.last_write_objects == 3  # contents, node a, root
    assert Tree.of_node(s, oid2).find("a/b") == 10
    assert Tree.of_node(s, oid).find("a/b") == 1


def test_write_to_other_store_copies():
    s1 = MemObjectStore()
    s2 = MemObjectStore()
    t = Tree.empty().add("a/b", 1).add("c", 2)
    r = Tree.of_node(s1, t.write(s1))
    r2 = r.add("d", 3)
    oid = r2.write(s2)
    r3 = Tree.of_node(s2, oid)
    assert sorted(r3.walk()) == [("a/b", 1), ("c", 2), ("d", 3)]
    assert r.write(s2) == r.hash()


def test_walk_iter_contents():
    t = Tree.empty().add("b/x", 1).add("a", 0).add("b/y/z", 2).add("b.c", 3)
    assert list(t.walk()) == [("a", 0), ("b/x", 1), ("b/y/z", 2), ("b.c", 3)]
    assert list(t.iter_contents("b")) == [("b/x", 1), ("b/y/z", 2)]
    assert list(t.iter_contents("b/y")) == [("b/y/z", 2)]
    assert list(t.iter_contents("a")) == [("a", 0)]
    assert list(t.iter_contents("q")) == []
    s = MemObjectStore()
    r = Tree.of_node(s, t.write(s))
    assert list(r.walk()) == list(t.walk())


def test_of_node_checks_id():
    raises(ValueError, Tree.of_node, MemObjectStore(), b"short")
    raises(ValueError, Tree.of_node, MemObjectStore(), "0" * 64)


def test_missing_and_wrong_objects():
    s = MemObjectStore()
    bogus = b"\x01" * 32
    r = Tree.of_node(s, bogus)
    e = raises(TreeError, r.find, "a")
    assert "01" * 32 in str(e), str(e)
    assert isinstance(e, ValueError)
    t = Tree.empty().add("a", 1).add("d/e", 2)
    oid = t.write(s)
    contents_id = s.add(encode_object(TAG_CONTENTS, 1))
    e = raises(TreeError, Tree.of_node(s, contents_id).find, "a")
    assert "not a node" in str(e), str(e)
    s2 = MemObjectStore()
    s2.add(s.get(oid))  # only the root node
    r2 = Tree.of_node(s2, oid)
    assert r2.list() == [("a", "contents"), ("d", "node")]
    raises(TreeError, r2.find, "a")
    e = raises(TreeError, r2.find, "d/e")
    assert "missing node" in str(e)
    garbage = s.add(b"\x54\x83\x07\x00\x00")  # node of an unknown format
    e = raises(TreeError, Tree.of_node(s, garbage).find, "a")
    assert "malformed" in str(e)


def test_deep_paths():
    # no recursion per path level: the firmware's C stack holds a few dozen calls
    from portable_core.tree_merge import merge_trees

    p = tuple("s" + str(i) for i in range(40))
    q = p[:-1] + ("z",)
    t = Tree.empty().add(p, 1).add(q, 2)
    s = MemObjectStore()
    r = Tree.of_node(s, t.write(s))
    assert r.find(p) == 1 and r.kind(p[:20]) == "node"
    assert [v for _, v in r.walk()] == [1, 2]
    r2 = r.add(p, 3)
    assert r.diff(r2) == [("/".join(p), "updated", 1, 3)]
    m = merge_trees(s, r, r2, r.add(q, 5), lambda path: lambda o, a, b: a)
    assert m.find(p) == 3 and m.find(q) == 5
    assert m.hash() == Tree.empty().add(p, 3).add(q, 5).hash()
    assert r.remove(p).remove(q).is_empty()
