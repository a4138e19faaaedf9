"""Store API basics, after Irmin's generic store suite: contents, nodes, commits,
branches, empty stores, ids and prefixes."""

from portable_core.conflict import MISSING
from portable_core.objects import to_hex
from portable_core.memstore import MemObjectStore, MemRefStore
from portable_core.store import Repo
from portable_core.store_errors import InvalidBranchName, StoreError
from portable_core.tree import Tree
from portable_support import new_repo as support_repo, raises, ticking_clock


def new_repo():
    return support_repo(clock=ticking_clock(1000))


def test_empty_store():
    repo = new_repo()
    main = repo.main()
    assert repo.branches() == []
    assert main.head() is None
    assert main.find("a/b") is None
    assert main.find("a/b", 7) == 7
    assert not main.mem("a")
    assert main.kind("a") is None
    assert main.list() == []
    assert main.tree().is_empty()
    raises(KeyError, main.get, "a")
    assert list(main.log()) == []
    assert main.last_modified("a") == []


def test_contents_of_every_kind():
    main = new_repo().main()
    values = [None, True, False, 0, -1, 2 ** 70, -(2 ** 64), 1.5, "text", b"\x00\xff",
              [1, [2, "x"]], {"k": [1, 2], "n": None}, "", b"", [], {}]
    for i, v in enumerate(values):
        main.set("v/%d" % i, v)
    for i, v in enumerate(values):
        got = main.get("v/%d" % i)
        assert got == v and type(got) == type(v), (i, got, v)
    assert main.mem("v/0") and main.find("v/0", "default") is None  # a stored None


def test_nodes_list_kind_remove():
    main = new_repo().main()
    main.set("a/b/c", 1)
    main.set("a/b/d", 2)
    main.set("a/e", 3)
    assert main.list("a") == [("b", "node"), ("e", "contents")]
    assert main.list("a/b") == [("c", "contents"), ("d", "contents")]
    assert main.kind("a") == "node" and main.kind("a/e") == "contents"
    assert main.mem_tree("a/b") and not main.mem("a/b")
    main.remove("a/b/c")
    assert main.list("a/b") == [("d", "contents")]
    main.remove("a/b/d")
    assert main.kind("a/b") is None  # empty directories vanish
    main.remove("a")
    assert main.list() == []
    assert main.head() is not None


def test_set_tree_and_find_tree():
    main = new_repo().main()
    sub = Tree.empty().add("x", 1).add("y/z", 2)
    main.set_tree("cfg", sub)
    assert main.get("cfg/y/z") == 2
    got = main.find_tree("cfg")
    assert got.hash() == sub.hash()
    assert main.find_tree("nope") is None
    main.set_tree("cfg", Tree.empty())
    assert main.kind("cfg") is None


def test_every_write_commits_with_info():
    repo = new_repo()
    main = repo.main()
    c1 = main.set("a", 1, message="first", author="alice")
    c2 = main.set("b", 2)
    commit = repo.commit(c2)
    assert commit.parents == [c1]
    assert commit.author == "test"
    assert commit.message == "set b"
    first = repo.commit(c1)
    assert first.author == "alice" and first.message == "first" and first.parents == []
    assert commit.date > first.date
    assert commit.height == 2
    # writing the same value again makes no new commit
    assert main.set("b", 2) == c2


def test_logical_clock_without_time():
    repo = Repo(MemObjectStore(), MemRefStore(), clock=None)
    main = repo.main()
    c1 = main.set("a", 1)
    c2 = main.set("a", 2)
    assert repo.commit(c1).date == 1 and repo.commit(c2).date == 2


def test_commit_ids_are_content_addresses():
    r1, r2 = new_repo(), new_repo()
    a = r1.main().set("k", "v")
    b = r2.main().set("k", "v")
    assert a == b  # same tree, parents, info and date
    t1 = r1.main().tree()
    assert t1.hash() == Tree.empty().add("k", "v").hash()


def test_short_id_prefixes():
    repo = new_repo()
    main = repo.main()
    cid = main.set("a", 1)
    hexid = to_hex(cid)
    assert repo.resolve(hexid[:8]) == cid
    assert repo.resolve(hexid) == cid
    assert repo.resolve("main") == cid
    raises(StoreError, repo.resolve, "zz")
    raises(StoreError, repo.resolve, "0000")  # too short to be safe? no: no match
    raises(StoreError, repo.resolve, "abc")  # under 4 digits


def test_branch_names():
    repo = new_repo()
    for good in ("main", "dev-1", "feature/x.y", "a_b", "v1.2/rc"):
        repo.branch(good)
    for bad in ("", "a b", "a..b", "/a", "a/", ".hidden", "x.lock", "é", "a//b", "a:b"):
        raises(InvalidBranchName, repo.branch, bad)


def test_branches_clone_remove():
    repo = new_repo()
    main = repo.main()
    main.set("a", 1)
    dev = main.clone("dev")
    assert repo.branches() == ["dev", "main"]
    assert dev.head() == main.head()
    dev.set("a", 2)
    assert main.get("a") == 1 and dev.get("a") == 2
    repo.remove_branch("dev")
    assert repo.branches() == ["main"]
    assert dev.head() is None
    repo.remove_branch("dev")  # no-op


def test_paths_as_tuples_and_validation():
    main = new_repo().main()
    main.set(("a", "b"), 1)
    assert main.get("a/b") == 1 and main.get(("a", "b")) == 1
    for bad in ("a//b", "a/../b", ("a", ""), ("a/b",), "a/\x00"):
        raises(ValueError, main.set, bad, 1)


def test_test_and_set_value():
    from portable_core.store_errors import TestFailed

    main = new_repo().main()
    main.test_and_set("k", MISSING, 1)
    assert main.get("k") == 1
    exc = raises(TestFailed, main.test_and_set, "k", 2, 3)
    assert exc.found == 1
    main.test_and_set("k", 1, MISSING)
    assert not main.mem("k")


def test_revert_and_set_head():
    repo = new_repo()
    main = repo.main()
    c1 = main.set("a", 1)
    main.set("a", 2)
    main.revert(c1)
    assert main.get("a") == 1
    assert main.test_and_set_head(c1, None)
    assert main.head() is None
    assert not main.test_and_set_head(c1, c1)


def test_bad_values_are_refused_and_nothing_changes():
    main = new_repo().main()
    head = main.set("a", 1)
    for bad in (set([1]), object(), {(1, 2): 3}, [1, object()]):
        raises(ValueError, main.set, "b", bad)
        assert main.head() == head and not main.mem("b")
