"""History, after Irmin's generic suite: log (depth, path), exact LCAs with max
depth, last_modified, diff."""

from portable_core import history
from portable_core.history import MaxDepthReached, TooManyLcas
from portable_core.memstore import MemObjectStore, MemRefStore
from portable_core.store import Repo
from portable_core.tree import Tree
from portable_support import new_repo as support_repo, raises, ticking_clock


def new_repo():
    return support_repo(clock=ticking_clock())


def commit(repo, parents, key, value):
    """A commit over the first parent's tree (or empty) plus one key."""
    base = Tree.empty()
    if parents:
        base = Tree.of_node(repo.objects, parents[0].tree)
    return repo.make_commit(base.add(key, value), parents, "c " + key)


def test_log_order_depth_and_path():
    repo = new_repo()
    main = repo.main()
    ids = [main.set("a", 1), main.set("b", 1), main.set("a", 2), main.set("c", 1)]
    assert [c.id for c in main.log()] == list(reversed(ids))
    assert [c.id for c in main.log(depth=1)] == [ids[3], ids[2]]
    assert [c.id for c in main.log(path="a")] == [ids[2], ids[0]]
    assert [c.id for c in main.log(path="nope")] == []


def test_lca_linear_and_same():
    repo = new_repo()
    c1 = commit(repo, [], "a", 1)
    c2 = commit(repo, [c1], "b", 1)
    c3 = commit(repo, [c2], "c", 1)
    assert history.lcas(repo.objects, c3.id, c1.id) == [c1.id]
    assert history.lcas(repo.objects, c1.id, c3.id) == [c1.id]
    assert history.lcas(repo.objects, c2.id, c2.id) == [c2.id]


def test_lca_fork_and_disjoint():
    repo = new_repo()
    root = commit(repo, [], "r", 0)
    left = commit(repo, [root], "l", 1)
    right = commit(repo, [root], "r2", 1)
    l2 = commit(repo, [left], "l2", 1)
    assert history.lcas(repo.objects, l2.id, right.id) == [root.id]
    other = commit(repo, [], "x", 9)
    assert history.lcas(repo.objects, l2.id, other.id) == []


def test_lca_criss_cross_is_exact():
    # Irmin's "criss-cross" case: two LCAs, neither an ancestor of the other.
    repo = new_repo()
    root = commit(repo, [], "r", 0)
    a = commit(repo, [root], "a", 1)
    b = commit(repo, [root], "b", 1)
    m1 = commit(repo, [a, b], "m1", 1)
    m2 = commit(repo, [b, a], "m2", 1)
    x = commit(repo, [m1], "x", 1)
    y = commit(repo, [m2], "y", 1)
    # exact: root is a common ancestor too, but not a lowest one
    assert history.lcas(repo.objects, x.id, y.id) == sorted([a.id, b.id])
    assert history.lcas(repo.objects, m1.id, m2.id) == sorted([a.id, b.id])
    raises(TooManyLcas, history.lcas, repo.objects, x.id, y.id, None, 1)
    # a merge of m1 and m2 is the only LCA of its two children
    top = commit(repo, [m1, m2], "top", 1)
    assert history.lcas(repo.objects, commit(repo, [top], "p", 1).id,
                        commit(repo, [top], "q", 1).id) == [top.id]


def test_lca_max_depth():
    repo = new_repo()
    root = commit(repo, [], "r", 0)
    left = root
    for i in range(6):
        left = commit(repo, [left], "l%d" % i, i)
    right = commit(repo, [root], "x", 1)
    assert history.lcas(repo.objects, left.id, right.id) == [root.id]
    assert history.lcas(repo.objects, left.id, right.id, 6) == [root.id]
    exc = raises(MaxDepthReached, history.lcas, repo.objects, left.id, right.id, 3)
    assert "max depth reached" in str(exc)


def test_lca_many_branches_long_history():
    repo = new_repo()
    base = commit(repo, [], "r", 0)
    for i in range(30):
        base = commit(repo, [base], "k", i)
    tips = []
    for b in range(4):
        tip = base
        for i in range(5):
            tip = commit(repo, [tip], "b%d" % b, i)
        tips.append(tip)
    merged = commit(repo, [tips[0], tips[1]], "m", 1)
    assert history.lcas(repo.objects, merged.id, tips[2].id) == [base.id]
    assert history.lcas(repo.objects, merged.id, tips[1].id) == [tips[1].id]
    assert history.lcas(repo.objects, tips[3].id, tips[2].id, 5) == [base.id]


def test_is_ancestor():
    repo = new_repo()
    c1 = commit(repo, [], "a", 1)
    c2 = commit(repo, [c1], "b", 1)
    other = commit(repo, [], "z", 1)
    assert history.is_ancestor(repo.objects, c1.id, c2.id)
    assert not history.is_ancestor(repo.objects, c2.id, c1.id)
    assert not history.is_ancestor(repo.objects, other.id, c2.id)


def test_last_modified():
    repo = new_repo()
    main = repo.main()
    c1 = main.set("a", 1)
    main.set("b", 1)
    c3 = main.set("a", 2)
    for i in range(5):
        main.set("b", i + 10)
    assert main.last_modified("a") == [c3]
    assert main.last_modified("a", 2) == [c3, c1]
    assert main.last_modified("a", 10) == [c3, c1]
    assert main.last_modified("nope") == []
    c9 = main.remove("a")
    assert main.last_modified("a") == [c9]


def test_last_modified_across_merge():
    repo = new_repo()
    main = repo.main()
    main.set("x", 0)
    dev = main.clone("dev")
    cd = dev.set("k", "dev")
    main.set("y", 1)
    main.merge_with_branch("dev")
    assert main.get("k") == "dev"
    assert main.last_modified("k") == [cd]


def test_last_modified_reads_only_what_it_needs():
    class Counting(MemObjectStore):
        def __init__(self):
            MemObjectStore.__init__(self)
            self.reads = 0

        def get(self, oid):
            self.reads += 1
            return MemObjectStore.get(self, oid)

    objects = Counting()
    repo = Repo(objects, MemRefStore(), clock=None)
    main = repo.main()
    main.set("old", 1)
    for i in range(40):
        main.set("hot", i)
    objects.reads = 0
    main.last_modified("hot")
    few = objects.reads
    assert few < 20, few  # one commit and its parent, not the 41 commits of history


def test_diff_between_commits():
    repo = new_repo()
    main = repo.main()
    c1 = main.set("a", 1)
    main.set("b/c", 2)
    c3 = main.set("a", 3)
    diff = repo.diff(c1, c3)
    assert diff == [("a", "updated", 1, 3), ("b/c", "added", None, 2)] or \
        [(d[0], d[1]) for d in diff] == [("a", "updated"), ("b/c", "added")], diff
    back = repo.diff(c3, c1)
    assert [(d[0], d[1]) for d in back] == [("a", "updated"), ("b/c", "removed")]
    assert repo.diff(c1, c1) == []
