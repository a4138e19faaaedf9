"""Merges, after Irmin's generic suite: simple and compound merges of branches and
commits, merge at a path, fast-forwards, head test_and_set, conflicts as values."""

from portable_core import merge
from portable_core.conflict import MergeConflictError
from portable_core.memstore import MemObjectStore, MemRefStore
from portable_core.store import Repo
from portable_core.store_errors import FastForwardError
from portable_support import new_repo as support_repo, raises, ticking_clock


def new_repo(policy=None):
    return support_repo(policy, ticking_clock())


def test_merge_disjoint_changes():
    repo = new_repo()
    main = repo.main()
    main.set("a", 1)
    dev = main.clone("dev")
    dev.set("b", 2)
    main.set("c", 3)
    head = main.merge_with_branch("dev")
    commit = repo.commit(head)
    assert len(commit.parents) == 2
    assert main.get("a") == 1 and main.get("b") == 2 and main.get("c") == 3
    assert dev.find("c") is None  # dev untouched


def test_merge_fast_forward_and_noop():
    repo = new_repo()
    main = repo.main()
    main.set("a", 1)
    dev = main.clone("dev")
    c = dev.set("a", 2)
    assert main.merge_with_branch("dev") == c  # fast-forward: no merge commit
    assert main.head() == c
    assert main.merge_with_branch("dev") == c  # already merged
    old = main.set("z", 0)
    assert dev.merge_with_branch("main") == old
    assert main.merge_with_commit(c) == old  # merging an ancestor changes nothing


def test_merge_into_empty_branch():
    repo = new_repo()
    dev = repo.branch("dev")
    c = dev.set("x", 1)
    assert repo.main().merge_with_branch("dev") == c
    raises(Exception, repo.main().merge_with_branch, "nope")


def test_conflict_changes_nothing():
    repo = new_repo()
    main = repo.main()
    main.set("k", 0)
    dev = main.clone("dev")
    dev.set("k", "dev")
    before = main.set("k", "main")
    exc = raises(MergeConflictError, main.merge_with_branch, "dev")
    assert exc.conflict.path == "k", exc.conflict
    assert main.head() == before and main.get("k") == "main"


def test_merge_combinators_per_path():
    policy = merge.by_path({"counters": merge.counter, "tags": merge.set_merge, "cfg": merge.lww})
    repo = new_repo(policy)
    main = repo.main()
    main.set("counters/boots", 10)
    main.set("tags/t", ["a", "b"])
    main.set("cfg/mode", [1, "eco"])
    dev = main.clone("dev")
    dev.set("counters/boots", 13)
    dev.set("tags/t", ["a", "b", "c"])
    dev.set("cfg/mode", [5, "fast"])
    main.set("counters/boots", 11)
    main.set("tags/t", ["b"])
    main.set("cfg/mode", [3, "off"])
    main.merge_with_branch("dev")
    assert main.get("counters/boots") == 14
    assert main.get("tags/t") == ["b", "c"]
    assert main.get("cfg/mode") == [5, "fast"]


def test_compound_merges_criss_cross():
    # Two branches merge each other repeatedly: every merge stays clean and the
    # result has every change (recursive merge of several LCAs).
    repo = new_repo()
    main = repo.main()
    main.set("base", 0)
    dev = main.clone("dev")
    for i in range(3):
        main.set("m/%d" % i, i)
        dev.set("d/%d" % i, i)
        m_head, d_head = main.head(), dev.head()
        main.merge_with_commit(d_head)
        dev.merge_with_commit(m_head)
    main.merge_with_branch("dev")
    for i in range(3):
        assert main.get("m/%d" % i) == i and main.get("d/%d" % i) == i
    assert dev.merge_with_branch("main") == main.head() or dev.get("m/2") == 2


def test_merge_at_path():
    repo = new_repo(merge.by_path({"n": merge.counter}))
    main = repo.main()
    main.set("n", 5)
    main.merge("n", 8, old=5)  # another replica went 5 -> 8
    assert main.get("n") == 8
    main.set("n", 9)
    main.merge("n", 7, old=5)  # 9 + 7 - 5
    assert main.get("n") == 11
    main.set("s", "x")
    exc = raises(MergeConflictError, main.merge, "s", "y", "w")
    assert exc.conflict.path == "s"
    assert main.get("s") == "x"
    main.merge("new", 1)  # old MISSING, current MISSING: takes the value
    assert main.get("new") == 1


def test_merge_into_and_with_commit():
    repo = new_repo()
    main = repo.main()
    main.set("a", 1)
    dev = main.clone("dev")
    dev.set("b", 1)
    main.set("c", 1)
    dev.merge_into("main")
    assert main.get("b") == 1
    feature = repo.branch("feature")
    feature.set_head(main.head())
    feature.set("f", 1)
    dev.merge_with_commit(feature.head())
    assert dev.get("f") == 1 and dev.get("c") == 1


def test_fast_forward_errors():
    repo = new_repo()
    main = repo.main()
    c1 = main.set("a", 1)
    c2 = main.set("a", 2)
    c3 = main.set("a", 3)
    dev = repo.branch("dev")
    assert dev.fast_forward(c1) == c1  # a new branch takes any commit
    assert dev.fast_forward(c3) == c3
    assert raises(FastForwardError, dev.fast_forward, c3).reason == "no_change"
    assert raises(FastForwardError, dev.fast_forward, c2).reason == "rejected"
    other = repo.branch("other")
    other.set("x", 1)
    assert raises(FastForwardError, dev.fast_forward, other.head()).reason == "rejected"
    dev.set_head(c1)
    assert raises(FastForwardError, dev.fast_forward, c3, 1).reason == "max_depth_reached"
    assert dev.fast_forward(c3, 2) == c3


def test_concurrent_head_test_and_set_with_retries():
    # A ref store that lets a rival writer move the head right before our first
    # attempts: the write retries on the new head and loses nothing.
    class RacingRefs(MemRefStore):
        def __init__(self):
            MemRefStore.__init__(self)
            self.rival = None
            self.races = 0

        def test_and_set(self, name, expected, new):
            if self.rival is not None and self.races > 0:
                self.races -= 1
                self.rival()
            return MemRefStore.test_and_set(self, name, expected, new)

    refs = RacingRefs()
    repo = Repo(MemObjectStore(), refs, clock=None)
    main = repo.main()
    main.set("n", 0)
    rival_repo = Repo(repo.objects, refs, clock=None)
    counter = [0]

    def rival():
        counter[0] += 1
        saved, refs.rival = refs.rival, None
        rival_repo.main().set("rival/%d" % counter[0], counter[0])
        refs.rival = saved

    refs.rival = rival
    refs.races = 3
    main.set("mine", 1)
    assert main.get("mine") == 1
    for i in range(1, 4):
        assert main.get("rival/%d" % i) == i  # the rival's writes are all kept
    # a compare-and-swap on the head itself
    head = main.head()
    assert not main.test_and_set_head(b"\x00" * 32, head)
    refs.races = 100
    from portable_core.store_errors import TooManyRetries

    repo.retries = 5
    raises(TooManyRetries, main.set, "never", 1)
    refs.races = 0
    assert main.find("never") is None and main.get("rival/9") == 9


def test_fast_forward_depth_on_unrelated_history_is_rejected():
    repo = new_repo()
    main = repo.main()
    main.set("a", 1)
    other = repo.branch("other")
    other.set("x", 1)
    other.set("x", 2)
    assert raises(FastForwardError, main.fast_forward, other.head(), 5).reason == "rejected"
    assert raises(FastForwardError, main.fast_forward, other.head(), 0).reason == "rejected"


def test_distance_between_commits():
    from portable_core import history

    repo = new_repo()
    main = repo.main()
    ids = [main.set("k", i) for i in range(5)]
    assert history.distance(repo.objects, ids[0], ids[4], 10) == 4
    assert history.distance(repo.objects, ids[0], ids[4], 3) is None
    assert history.distance(repo.objects, ids[4], ids[4], 0) == 0
    assert history.distance(repo.objects, ids[4], ids[0], 10) is None
