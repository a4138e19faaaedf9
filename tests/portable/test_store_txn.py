"""Transactions per strategy (with retries) and watches, after Irmin's generic suite."""

from portable_core import merge
from portable_core.conflict import MergeConflictError
from portable_core.memstore import MemObjectStore, MemRefStore
from portable_core.store import Repo
from portable_core.store_errors import TestFailed
from portable_core.tree import Tree
from portable_support import new_repo, raises


def interfering(branch, path, value):
    """A transaction body that, mid-way, lets another writer change ``path``."""

    def body(txn):
        seen = txn.find("x")
        branch.set(path, value, message="interloper")
        txn.set("x", (seen or 0) + 1)
        return seen

    return body


def test_transaction_reads_and_writes():
    main = new_repo().main()
    main.set("a", 1)

    def body(txn):
        assert txn.get("a") == 1
        txn.set("b", 2)
        txn.remove("a")
        assert txn.find("a") is None and txn.find("b") == 2
        return "done"

    result, head = main.transaction(body, message="txn")
    assert result == "done"
    assert main.head() == head and main.get("b") == 2 and not main.mem("a")
    assert main.head_commit().message == "txn"


def test_read_only_transaction_makes_no_commit():
    main = new_repo().main()
    before = main.set("a", 1)
    result, head = main.transaction(lambda txn: txn.get("a"))
    assert result == 1 and head == before and main.head() == before


def test_strategy_set_last_writer_wins():
    main = new_repo().main()
    main.set("x", 10)
    main.transaction(interfering(main, "x", 100), strategy="set")
    assert main.get("x") == 11  # our write wins over the interloper's


def test_strategy_set_keeps_unrelated_concurrent_writes():
    main = new_repo().main()
    main.set("x", 1)
    main.transaction(interfering(main, "other", "kept"), strategy="set")
    assert main.get("x") == 2 and main.get("other") == "kept"


def test_strategy_test_and_set_reports_what_it_found():
    main = new_repo().main()
    main.set("x", 10)
    before = None
    exc = raises(TestFailed, main.transaction, interfering(main, "x", 100), "test_and_set")
    assert exc.path == "x" and exc.found == 100
    assert main.get("x") == 100  # nothing of ours landed
    # an unrelated concurrent write does not fail the test: it retries on top
    main.transaction(interfering(main, "other", 1), strategy="test_and_set")
    assert main.get("x") == 101 and main.get("other") == 1
    assert before is None


def test_strategy_merge():
    main = new_repo(merge.by_path({"x": merge.counter})).main()
    main.set("x", 10)
    main.transaction(interfering(main, "x", 15), strategy="merge")
    assert main.get("x") == 16  # 15 + 11 - 10
    main.set("s", "a")

    def body(txn):
        txn.find("s")
        main.set("s", "theirs")
        txn.set("s", "ours")

    exc = raises(MergeConflictError, main.transaction, body, "merge")
    assert exc.conflict.path == "s"
    assert main.get("s") == "theirs"


def test_with_tree_strategies():
    main = new_repo().main()
    main.set("cfg/a", 1)

    def add_b(tree):
        return (tree or Tree.empty()).add("b", 2)

    main.with_tree("cfg", add_b)
    assert main.get("cfg/a") == 1 and main.get("cfg/b") == 2
    main.with_tree("cfg", lambda t: None, strategy="test_and_set")
    assert main.kind("cfg") is None
    main.with_tree("new", add_b, strategy="merge")
    assert main.get("new/b") == 2


def test_transaction_retries_are_bounded():
    from portable_core.store_errors import TooManyRetries

    class AlwaysRacing(MemRefStore):
        def test_and_set(self, name, expected, new):
            if name == "heads/main" and self.get(name) is not None and self.racing:
                return False
            return MemRefStore.test_and_set(self, name, expected, new)

    refs = AlwaysRacing()
    refs.racing = False
    repo = Repo(MemObjectStore(), refs, clock=None, retries=3)
    main = repo.main()
    main.set("a", 1)
    refs.racing = True
    raises(TooManyRetries, main.transaction, lambda txn: txn.set("a", 2))
    refs.racing = False
    assert main.get("a") == 1


def test_watch_branch_receives_diff():
    repo = new_repo()
    main = repo.main()
    events = []
    w = main.watch(events.append)
    main.set("a", 1)
    main.set("a", 2)
    assert len(events) == 2
    assert events[0].old is None and events[0].new == main.log().__next__().parents[0]
    assert [(d[0], d[1]) for d in events[1].diff] == [("a", "updated")]
    main.unwatch(w)
    main.set("a", 3)
    assert len(events) == 2


def test_watch_key_only_sees_its_key():
    repo = new_repo()
    main = repo.main()
    seen = []
    main.watch_key("net", lambda ev: seen.append([d[0] for d in ev.diff]))
    main.set("net/ssid", "lab")
    main.set("other", 1)
    main.set("net/pass", "x")
    main.remove("net")
    assert seen == [["net/ssid"], ["net/pass"], ["net/pass", "net/ssid"]]


def test_watch_other_branches_and_all():
    repo = new_repo()
    main = repo.main()
    every = []
    mine = []
    repo.watch_all(lambda ev: every.append(ev.branch))
    main.watch(lambda ev: mine.append(ev.branch))
    main.set("a", 1)
    dev = main.clone("dev")
    dev.set("a", 2)
    repo.remove_branch("dev")
    assert mine == ["main"]
    assert every == ["main", "dev", "dev", "dev"]


def test_failing_callback_does_not_break_store_or_other_watchers():
    repo = new_repo()
    main = repo.main()
    got = []

    def bad(ev):
        raise RuntimeError("callback bug")

    main.watch(bad)
    main.watch(got.append)
    main.set("a", 1)
    main.set("a", 2)
    assert len(got) == 2 and main.get("a") == 2
    assert repo.watchers.errors == 2


def test_callbacks_never_nest():
    repo = new_repo()
    main = repo.main()
    log = []
    depth = [0]

    def writer(ev):
        depth[0] += 1
        assert depth[0] == 1, "callbacks ran nested"
        log.append(ev.new)
        if len(log) < 3:
            main.set("n", len(log))  # a write from inside a callback
        depth[0] -= 1

    main.watch(writer)
    main.set("n", 0)
    assert len(log) == 3 and main.get("n") == 2
