"""Irmin's own history graphs (irmin-test, store.ml ``test_history``): lcas with
``max_depth`` (the smallest depth that succeeds, and one less that reports
MaxDepthReached, as Irmin's ``assert_lcas``) and ``last_modified ?depth ~n``."""

from portable_core import history
from portable_core.history import MaxDepthReached
from portable_support import new_repo, raises, ticking_clock

K0, K1, K2 = "k0/a/b", "k1/c", "k2/d/e/f"
_VALUES = [0]


def fresh():
    # Irmin's ``random_value``: a value never seen before
    _VALUES[0] += 1
    return _VALUES[0]


def mk(repo, parents, tree):
    return repo.make_commit(tree, parents, "c").id


def assert_lcas(repo, max_depth, n, a, b, expected):
    got = history.lcas(repo.objects, a, b, max_depth, n)
    assert got == sorted(expected), (max_depth, got, expected)
    raises(MaxDepthReached, history.lcas, repo.objects, a, b, max_depth - 1, n)


def assert_last(repo, head, key, n, expected, depth=None):
    got = history.last_modified(repo.objects, head, key, n, depth)
    assert sorted(got) == sorted(expected), (key, n, depth)


def line(repo):
    """0(k0, k1) -> 1(k1) -> 2(k0) -> 3(k1, k0) -> 4(k1)"""
    from portable_core.tree import Tree

    c = repo.commit
    t = Tree.empty().add(K0, fresh()).add(K1, fresh())
    c0 = mk(repo, [], t)
    t = t.add(K1, fresh())
    c1 = mk(repo, [c(c0)], t)
    t = t.add(K0, fresh())
    c2 = mk(repo, [c(c1)], t)
    t = t.add(K0, fresh()).add(K1, fresh())
    c3 = mk(repo, [c(c2)], t)
    t = t.add(K1, fresh())
    c4 = mk(repo, [c(c3)], t)
    return t, [c0, c1, c2, c3, c4]


def test_irmin_line_lcas_and_last_modified():
    repo = new_repo(clock=ticking_clock())
    _, (c0, c1, c2, c3, c4) = line(repo)
    assert_lcas(repo, 0, 3, c3, c4, [c3])
    assert_lcas(repo, 1, 3, c2, c4, [c2])
    assert_lcas(repo, 2, 3, c1, c4, [c1])
    assert_last(repo, c4, K0, 1, [c3])
    assert_last(repo, c4, K0, 2, [c2, c3])
    assert_last(repo, c4, K0, 3, [c0, c2, c3])
    assert_last(repo, c4, K0, 3, [c3], depth=1)
    assert_last(repo, c4, K2, 1, [])
    assert_last(repo, c4, K0, 2, [], depth=0)


def test_irmin_x_lcas_and_last_modified():
    # 4(k1) -> 10 (k2) ---> 11(k0, k2) --> 13(k1) --> 15(k1, k2)
    #           |                 \_______________________/____
    #           |           _____________________/             \
    #           |          /                                   \
    #           \---> 12 (k0, k1) --> 14 (k2) --> 16 (k2) --> 17 (k0)
    repo = new_repo(clock=ticking_clock())
    c = repo.commit
    tree, cs = line(repo)
    c4 = cs[4]
    tree = tree.add(K2, fresh())
    c10 = mk(repo, [c(c4)], tree)
    up = tree.add(K0, fresh()).add(K2, fresh())
    c11 = mk(repo, [c(c10)], up)
    down = tree.add(K0, fresh())
    t12 = down.add(K1, fresh())
    c12 = mk(repo, [c(c10)], t12)
    up = up.add(K1, fresh())
    c13 = mk(repo, [c(c11)], up)
    down = t12.add(K2, fresh())
    c14 = mk(repo, [c(c12)], down)
    up = t12.add(K1, fresh()).add(K2, fresh())
    c15 = mk(repo, [c(c12), c(c13)], up)
    down = down.add(K2, fresh())
    c16 = mk(repo, [c(c14)], down)
    down = down.add(K0, fresh())
    c17 = mk(repo, [c(c11), c(c16)], down)
    assert_lcas(repo, 0, 5, c10, c10, [c10])
    assert_lcas(repo, 0, 5, c14, c14, [c14])
    assert_lcas(repo, 0, 5, c10, c11, [c10])
    assert_lcas(repo, 1, 5, c12, c16, [c12])
    assert_lcas(repo, 1, 5, c10, c13, [c10])
    assert_lcas(repo, 2, 5, c13, c14, [c10])
    assert_lcas(repo, 3, 5, c15, c16, [c12])
    assert_lcas(repo, 3, 5, c15, c17, [c11, c12])
    assert_last(repo, c17, K0, 3, [c11, c12, c17])
    assert_last(repo, c17, K2, 1, [c16])
    assert_last(repo, c17, K1, 2, [c4, c12])
    assert_last(repo, c17, K1, 5, [c4, c12], depth=3)
    assert_last(repo, c17, K0, 3, [c11, c17], depth=2)


def test_irmin_lcas_on_graphs_not_transitively_reduced():
    #            /->16
    #           |
    #   4->10->11->12->13->14->15
    #           |        \--|--/
    #           \-----------/
    repo = new_repo(clock=ticking_clock())
    c = repo.commit
    tree, cs = line(repo)
    tree = tree.add(K2, fresh())
    c10 = mk(repo, [c(cs[4])], tree)
    c11 = repo.make_commit(tree, [c(c10)], "11").id
    c12 = repo.make_commit(tree, [c(c11)], "12").id
    c13 = repo.make_commit(tree, [c(c12)], "13").id
    c14 = repo.make_commit(tree, [c(c11), c(c13)], "14").id
    c15 = repo.make_commit(tree, [c(c13), c(c14)], "15").id
    c16 = repo.make_commit(tree, [c(c11)], "16").id
    assert_lcas(repo, 0, 3, c14, c15, [c14])
    assert_lcas(repo, 0, 3, c13, c15, [c13])
    assert_lcas(repo, 1, 3, c12, c15, [c12])
    assert_lcas(repo, 1, 3, c11, c15, [c11])
    assert_lcas(repo, 3, 3, c15, c16, [c11])


def test_lcas_max_depth_below_zero_and_too_many():
    repo = new_repo(clock=ticking_clock())
    _, (c0, c1, c2, c3, c4) = line(repo)
    raises(MaxDepthReached, history.lcas, repo.objects, c4, c4, -1)
    assert history.lcas(repo.objects, c4, c4, 0) == [c4]
    # the depth check stops when n candidates are found, as Irmin
    assert history.lcas(repo.objects, c0, c4, 10, 1) == [c0]
