"""Merge combinators, part 1: equality, default, idempotent, option, pair, triple,
counter and path policies. Sets, multisets, maps and LWW are in test_merge_collections.py.
"""

from portable_core import merge
from portable_core.conflict import MISSING, Conflict
from portable_core.merge import (
    INT64_MAX,
    INT64_MIN,
    by_path,
    counter,
    default,
    idempotent,
    option,
    pair,
    triple,
    values_equal,
)
from portable_support import expect_conflict as _conflict


# -- values_equal -----------------------------------------------------------------


def test_values_equal_is_type_strict():
    assert values_equal(1, 1)
    assert not values_equal(True, 1)
    assert not values_equal(1, True)
    assert not values_equal(False, 0)
    assert not values_equal(1, 1.0)
    assert not values_equal(0, None)
    assert not values_equal("a", b"a")
    assert not values_equal([], {})
    assert not values_equal(None, MISSING)
    assert values_equal(MISSING, MISSING)
    assert values_equal(None, None)
    assert values_equal(2**70, 2**70)


def test_values_equal_floats():
    nan = float("nan")
    assert values_equal(nan, nan)
    assert values_equal(nan, float("nan"))
    assert values_equal([nan], [float("nan")])
    assert not values_equal(nan, 1.0)
    assert not values_equal(0.0, -0.0)
    assert values_equal(1.5, 1.5)


def test_values_equal_nested():
    assert values_equal([1, [2, {"a": b"x"}]], [1, [2, {"a": b"x"}]])
    assert not values_equal([1, [2, {"a": b"x"}]], [1, [2, {"a": b"y"}]])
    assert not values_equal([1, [True]], [1, [1]])
    assert values_equal((1, 2), [1, 2])
    assert values_equal(bytearray(b"ab"), b"ab")
    assert not values_equal([1, 2], [1, 2, 3])


def test_values_equal_dicts():
    assert values_equal({"a": 1, "b": 2}, {"b": 2, "a": 1})
    assert not values_equal({"a": 1}, {"a": 1, "b": 2})
    assert not values_equal({"a": 1}, {"b": 1})
    assert not values_equal({"a": 1}, {"a": True})
    assert values_equal({1: "x", b"k": 2}, {b"k": 2, 1: "x"})
    assert not values_equal({1: "x"}, {True: "x"})
    assert not values_equal({1: "x"}, {1.0: "x"})
    assert not values_equal({1: "x"}, {2: "x"})


# -- default and idempotent ---------------------------------------------------------


def test_default_three_way():
    assert default(1, 1, 2) == 2
    assert default(1, 2, 1) == 2
    assert default(1, 1, 1) == 1
    assert default(1, 3, 3) == 3
    assert default(MISSING, 3, 3) == 3
    _conflict(default(1, 2, 3), "default: both sides changed", "")
    _conflict(default(MISSING, 2, 3), "default: both sides changed")


def test_default_is_type_strict():
    _conflict(default(0, True, 1))
    assert default(1, True, 1) is True
    assert default(1, 1, 1.0) == 1.0
    assert type(default(1, 1, 1.0)) is float
    nan = float("nan")
    r = default(nan, nan, 2.5)
    assert r == 2.5


def test_default_missing_values():
    assert default("x", MISSING, "x") is MISSING
    assert default("x", "x", MISSING) is MISSING
    assert default(MISSING, MISSING, "y") == "y"
    assert default(MISSING, MISSING, MISSING) is MISSING
    assert default("x", MISSING, MISSING) is MISSING
    _conflict(default("x", MISSING, "y"))


def test_default_returns_inputs_unmodified():
    o, a, b = {"k": [1]}, {"k": [1]}, {"k": [2]}
    r = default(o, a, b)
    assert r is b
    assert o == {"k": [1]} and a == {"k": [1]} and b == {"k": [2]}


def test_idempotent():
    assert idempotent(1, 5, 5) == 5
    assert idempotent(MISSING, 5, 5) == 5
    assert idempotent(1, 1, 2) == 2
    assert idempotent(1, 2, 1) == 2
    _conflict(idempotent(1, 2, 3), "idempotent: both sides changed")
    _conflict(idempotent(MISSING, 2, 3), "idempotent: added on both sides with different values")
    assert idempotent(1, 1, True) is True
    assert idempotent("x", MISSING, "x") is MISSING


# -- option -----------------------------------------------------------------------


def _strict(old, a, b):
    """A merge that records it was called: conflicts unless both sides are equal."""
    if values_equal(a, b):
        return ["called", a]
    return Conflict("strict")


def test_option_unchanged_side():
    f = option(_strict)
    assert f(1, 1, 2) == 2
    assert f(1, 2, 1) == 2
    assert f(MISSING, MISSING, 3) == 3
    assert f(MISSING, 3, MISSING) == 3


def test_option_removals():
    f = option(_strict)
    assert f(1, MISSING, 1) is MISSING
    assert f(1, 1, MISSING) is MISSING
    assert f(1, MISSING, MISSING) is MISSING
    _conflict(f(1, MISSING, 2), "option: removed on one side, changed on the other")
    _conflict(f(1, 2, MISSING), "option: removed on one side, changed on the other")


def test_option_both_present_calls_f():
    f = option(_strict)
    # as in Irmin, f is called when both sides changed, even identically
    assert f(1, 2, 2) == ["called", 2]
    _conflict(f(1, 2, 3), "strict")
    seen = []

    def spy(old, a, b):
        seen.append(old)
        return a

    option(spy)(MISSING, 4, 5)
    assert seen == [MISSING]
    option(spy)(7, 4, 5)
    assert seen == [MISSING, 7]


def test_option_of_default_add_add():
    f = option(default)
    assert f(MISSING, "v", "v") == "v"
    _conflict(f(MISSING, "v", "w"), "default: both sides changed")


# -- pair and triple ---------------------------------------------------------------


def test_pair_componentwise():
    f = pair(counter, default)
    assert f([1, "x"], [3, "x"], [4, "y"]) == [6, "y"]
    assert f([1, "x"], [1, "x"], [9, "z"]) == [9, "z"]
    assert f(MISSING, [1, "x"], [2, "x"]) == [3, "x"]
    assert f((1, "x"), (3, "x"), (4, "x")) == [6, "x"]


def test_pair_conflicts_and_shapes():
    f = pair(counter, default)
    _conflict(f([1, "x"], [2, "y"], [3, "z"]), "default: both sides changed", "1")
    _conflict(f([1, "x"], [INT64_MAX, "x"], [INT64_MAX, "x"]), "counter overflow", "0")
    _conflict(f([1, "x"], [1, "x", 3], [2, "x"]), "pair: not a list of 2 values")
    _conflict(f([1, "x"], "nope", [2, "x"]))
    assert f([1, "x"], MISSING, [1, "x"]) is MISSING
    _conflict(f([1, "x"], MISSING, [2, "x"]))


def test_pair_does_not_mutate():
    o, a, b = [1, [0]], [2, [0]], [3, [0]]
    r = pair(counter, default)(o, a, b)
    assert r == [4, [0]]
    assert o == [1, [0]] and a == [2, [0]] and b == [3, [0]]
    assert r is not a and r is not b


def test_triple():
    f = triple(counter, default, counter)
    assert f([0, "a", 10], [1, "a", 12], [2, "b", 9]) == [3, "b", 11]
    _conflict(f([0, "a", 0], [0, "b", 0], [0, "c", 1]), "default: both sides changed", "1")
    _conflict(f([0, "a", 0], [0, "a"], [1, "a", 0]), "triple: not a list of 3 values")


# -- counter -------------------------------------------------------------------------


def test_counter_adds_both_sides():
    assert counter(10, 12, 15) == 17
    assert counter(10, 8, 15) == 13
    assert counter(MISSING, 2, 3) == 5
    assert counter(0, 5, 5) == 10  # both incremented by 5: both count (as Irmin)
    assert counter(5, 5, 5) == 5
    assert counter(-3, -5, 0) == -2


def test_counter_bounds():
    assert counter(0, INT64_MAX, 0) == INT64_MAX
    assert counter(0, INT64_MAX - 1, 1) == INT64_MAX
    _conflict(counter(0, INT64_MAX, 1), "counter overflow")
    _conflict(counter(0, INT64_MIN, -1), "counter overflow")
    assert counter(0, INT64_MIN, 0) == INT64_MIN
    assert counter(INT64_MIN, 0, INT64_MIN) == 0  # intermediate sums out of range are fine
    assert counter(-1, INT64_MAX, INT64_MIN) == 0
    _conflict(counter(0, INT64_MAX + 1, 1))


def test_counter_types_and_missing():
    _conflict(counter(0, True, 2), "counter: not a 64-bit integer")
    _conflict(counter(0, 1.0, 2))
    _conflict(counter("0", 1, 2))
    assert counter(3, MISSING, 3) is MISSING
    assert counter(3, MISSING, MISSING) is MISSING
    _conflict(counter(3, MISSING, 4))
    assert counter(MISSING, MISSING, 4) == 4


# -- by_path ---------------------------------------------------------------------------


def test_by_path_longest_prefix():
    p = by_path({"a": counter, "a/b": default, "c/d/e": merge.lww})
    assert p.for_path("a") is counter
    assert p.for_path("a/x/y") is counter
    assert p.for_path("a/b") is default
    assert p.for_path("a/b/c") is default
    assert p.for_path("a/bc") is counter
    assert p.for_path("ab") is default  # fallback
    assert p.for_path("c/d") is default
    assert p.for_path("c/d/e/f") is merge.lww
    assert p.for_path(["a", "b", "z"]) is default
    assert p.for_path(("a", "q")) is counter


def test_by_path_root_and_fallback():
    p = by_path({"": counter, "s": merge.set_merge}, fallback=default)
    assert p.for_path("x/y") is counter
    assert p.for_path("") is counter
    assert p.for_path("s/t") is merge.set_merge
    q = merge.MergePolicy({"k": counter}, fallback=merge.idempotent)
    assert q.for_path("z") is merge.idempotent
    assert q.for_path("/k/") is counter
    assert merge.MergePolicy().for_path("any") is default


def test_by_path_merge_and_duplicates():
    p = by_path({"n": counter})
    assert p.merge("n/1", 1, 2, 3) == 4
    _conflict(p.merge("m", 1, 2, 3), "default: both sides changed")
    try:
        by_path({"a/b": counter, "a/b/": default})
    except ValueError:
        pass
    else:
        raise AssertionError("duplicate prefixes accepted")


def test_reexports():
    assert merge.Conflict is Conflict
    assert merge.MISSING is MISSING
    assert merge.is_conflict(Conflict("x"))
