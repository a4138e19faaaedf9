"""Irmin's semantics of the store API: with_tree/transaction default to
test-and-set and re-run their function with ``retries``, clone of a branch without
a head removes the destination, list pagination, explicit parents on writes."""

from portable_core import merge
from portable_core.conflict import MISSING, MergeConflictError
from portable_core.store_errors import TestFailed, UnknownCommit
from portable_core.tree import Tree
from portable_support import new_repo, raises


def interloping(branch, path, values):
    """A transaction body that, on each run, lets another writer set ``path`` to the
    next of ``values`` (None: no interference) before it writes "x"."""
    runs = []

    def body(txn):
        seen = txn.find("x", 0)
        v = values[len(runs)] if len(runs) < len(values) else None
        runs.append(seen)
        if v is not None:
            branch.set(path, v, message="interloper")
        txn.set("x", seen + 1)
        return seen

    return body, runs


def test_transaction_defaults_to_test_and_set():
    main = new_repo().main()
    main.set("x", 10)
    body, runs = interloping(main, "x", [100])
    exc = raises(TestFailed, main.transaction, body)
    assert exc.path == "x" and exc.found == 100
    assert main.get("x") == 100 and runs == [10]


def test_with_tree_defaults_to_test_and_set():
    main = new_repo().main()
    main.set("cfg/a", 1)

    def grow(tree):
        main.set("cfg/a", 2, message="concurrent")
        return tree.add("b", 3)

    before = main.head()
    exc = raises(TestFailed, main.with_tree, "cfg", grow)
    assert exc.path == "cfg"
    assert main.get("cfg/a") == 2 and not main.mem("cfg/b")
    assert main.head_commit().parents == [before]  # only the concurrent commit
    # the same with "set": last writer wins
    main.with_tree("cfg", lambda t: t.add("b", 3), strategy="set")
    assert main.get("cfg/b") == 3


def test_retries_rerun_the_function_on_the_new_head():
    main = new_repo().main()
    main.set("x", 10)
    body, runs = interloping(main, "x", [100, 200])
    result, head = main.transaction(body, retries=2)
    assert runs == [10, 100, 200] and result == 200
    assert main.get("x") == 201 and main.head() == head


def test_retries_exhausted_raise_the_last_error():
    main = new_repo().main()
    main.set("x", 0)
    body, runs = interloping(main, "x", [1, 2, 3, 4])
    exc = raises(TestFailed, main.transaction, body, "test_and_set", None, None, 2)
    assert len(runs) == 3 and exc.found == 3  # the third run's interloper
    assert main.get("x") == 3
    # with_tree takes retries the same way
    calls = []

    def bump(tree):
        calls.append(1)
        if len(calls) == 1:
            main.set("cfg/v", "other")
        return (tree or Tree.empty()).add("v", len(calls))

    main.with_tree("cfg", bump, retries=1)
    assert calls == [1, 1] and main.get("cfg/v") == 2


def test_merge_conflict_reruns_with_retries():
    main = new_repo(merge.by_path({})).main()
    main.set("s", "a")
    runs = []

    def body(txn):
        txn.find("s")
        runs.append(1)
        if len(runs) == 1:
            main.set("s", "theirs")
        txn.set("s", "ours%d" % len(runs))

    exc = raises(MergeConflictError, main.transaction, body, "merge")
    assert exc.conflict.path == "s" and main.get("s") == "theirs"
    runs[:] = []
    main.set("s", "a")
    main.transaction(body, "merge", None, None, 1)
    assert len(runs) == 2 and main.get("s") == "ours2"


def test_errors_of_the_function_are_not_retried():
    main = new_repo().main()
    runs = []

    def body(txn):
        runs.append(1)
        raise KeyError("mine")

    raises(KeyError, main.transaction, body, "test_and_set", None, None, 5)
    assert runs == [1] and main.head() is None


def test_clone_of_a_branch_without_head_removes_the_destination():
    repo = new_repo()
    main = repo.main()
    main.set("a", 1)
    side = main.clone("side")
    assert side.head() == main.head() and repo.branches() == ["main", "side"]
    empty = repo.branch("empty")
    assert empty.clone("side").head() is None
    assert repo.branches() == ["main"]
    empty.clone("never")  # removing a branch that does not exist: nothing
    assert repo.branches() == ["main"]


def test_list_pagination():
    main = new_repo().main()
    names = ["k%02d" % i for i in range(40)]  # more than a flat node holds
    d = Tree.empty()
    for n in names:
        d = d.add(n, 1)
    main.set_tree("d", d.add("sub/x", 2))  # one commit: the firmware's heap is small
    full = main.list("d")
    assert [s for s, _ in full] == sorted(names + ["sub"])
    assert main.list("d", 0, None) == full
    assert main.list("d", 5) == full[5:]
    assert main.list("d", 5, 3) == full[5:8]
    assert main.list("d", 0, 0) == []
    assert main.list("d", 39, 10) == full[39:]
    assert main.list("d", 100) == [] and main.list("nope", 1, 1) == []
    tree = main.tree()
    assert tree.list("d", 38, 2) == full[38:40]
    for bad in (-1, "1", 1.0, True):
        raises(ValueError, tree.list, "d", bad)
        raises(ValueError, main.list, "d", 0, bad)

    def body(txn):
        return txn.list("d", 2, 2)

    assert main.transaction(body)[0] == full[2:4]


def test_explicit_parents():
    repo = new_repo()
    main = repo.main()
    a = main.set("a", 1)
    side = main.clone("side")
    b = side.set("b", 2)
    head = main.set("c", 3, parents=[b, a])
    commit = main.head_commit()
    assert head == commit.id and commit.parents == sorted([a, b])
    assert main.get("c") == 3 and main.get("a") == 1 and not main.mem("b")  # main's tree
    root = main.set("d", 4, parents=[])
    assert repo.commit(root).parents == [] and repo.commit(root).height == 1
    assert main.get("c") == 3 and main.get("d") == 4
    main.remove("d", parents=[root])
    assert main.head_commit().parents == [root] and not main.mem("d")
    main.set_tree("t", Tree.empty().add("x", 1), parents=[a])
    assert main.head_commit().parents == [a]
    main.test_and_set("t/x", 1, 2, parents=[a, a])  # duplicates kept once
    assert main.head_commit().parents == [a] and main.get("t/x") == 2
    main.merge("n", 5, MISSING, None, None, [b])
    assert main.head_commit().parents == [b]
    main.with_tree("w", lambda t: Tree.empty().add("y", 1), parents=[a, b])
    assert main.head_commit().parents == sorted([a, b])
    # the same value again: no commit, whatever the parents
    same = main.head()
    assert main.set("n", 5, parents=[a]) == same


def test_unknown_parents_change_nothing():
    repo = new_repo()
    main = repo.main()
    main.set("a", 1)
    head = main.head()
    count = len(repo.objects)
    node_id = main.head_commit().tree
    for bad in ([b"\x07" * 32], [node_id], ["nope"], [b"short"]):
        exc = raises(UnknownCommit, main.set, "b", 2, None, None, bad)
        assert exc.ref == bad[0], exc
    raises(TypeError, main.set, "b", 2, None, None, b"\x07" * 32)
    assert main.head() == head and len(repo.objects) == count and not main.mem("b")
    other = repo.branch("other")
    raises(UnknownCommit, other.set, "b", 2, None, None, [b"\x07" * 32])
    assert repo.branches() == ["main"]
    main.set("b", 2)
    assert main.get("b") == 2
