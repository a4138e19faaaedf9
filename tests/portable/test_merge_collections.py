"""Merge combinators, part 2: sets, multisets, maps and last-writer-wins registers.

Canonical orders are by deterministic CBOR encoding: small non-negative ints
(one byte, in numeric order) < negative ints < byte strings < text strings < arrays
< maps < false < true < null < floats.
"""

from portable_core.conflict import MISSING, Conflict
from portable_core.merge import (
    INT64_MAX,
    counter,
    default,
    encoded_key,
    lww,
    map_merge,
    multiset,
    set_merge,
    values_equal,
)
from portable_support import expect_conflict as _conflict


# -- set_merge ----------------------------------------------------------------------


def test_set_additions_and_removals():
    assert set_merge([1, 2, 3], [1, 2, 3, 4], [2, 3, 5]) == [2, 3, 4, 5]
    assert set_merge([1, 2], [1, 2], [1, 2]) == [1, 2]
    assert set_merge([1, 2], [], [1, 2, 3]) == [3]
    assert set_merge([1], [1, 7], [1, 7]) == [1, 7]
    assert set_merge([1, 2], [2], [1]) == []


def test_set_result_is_canonical():
    assert set_merge(MISSING, [3, 1, 3], [2, 1]) == [1, 2, 3]
    assert set_merge([], ["b", 2, b"x"], ["a", 1]) == [1, 2, b"x", "a", "b"]
    assert set_merge([], [None, True, False], [-1, 0]) == [0, -1, False, True, None]
    r = set_merge([], [[1], {"a": 1}], [[1], 1.5])
    assert r == [[1], {"a": 1}, 1.5]
    assert type(r[2]) is float


def test_set_is_type_strict():
    r = set_merge([], [1, True], [1.0])
    assert len(r) == 3
    assert r[0] == 1 and type(r[0]) is int
    assert r[1] is True
    assert type(r[2]) is float
    assert set_merge([True], [True, 1], [True]) == [1, True]
    assert type(set_merge([True], [True, 1], [True])[0]) is int


def test_set_unchanged_side_is_canonicalised():
    assert set_merge([1], [1], [3, 2, 2, 1]) == [1, 2, 3]
    assert set_merge([2, 1], [1, 2], [1, 2]) == [1, 2]


def test_set_missing_sides():
    assert set_merge([1], MISSING, [1]) is MISSING
    assert set_merge([1, 2], [2, 1], MISSING) is MISSING
    assert set_merge([1], MISSING, MISSING) is MISSING
    _conflict(set_merge([1], MISSING, [1, 2]), "set: removed on one side, changed on the other")
    assert set_merge(MISSING, MISSING, [2, 1]) == [1, 2]
    assert set_merge(MISSING, [2, 1], MISSING) == [1, 2]
    _conflict(set_merge([1], "x", [1]), "set: not a list")


def test_set_does_not_mutate():
    o, a, b = [3, 1], [3, 1, 2], [1]
    assert set_merge(o, a, b) == [1, 2]
    assert o == [3, 1] and a == [3, 1, 2] and b == [1]


# -- multiset ------------------------------------------------------------------------


def test_multiset_counts_merge_as_counters():
    assert multiset({"a": 1}, {"a": 3}, {"a": 2}) == {"a": 4}
    assert multiset({"a": 1}, {"a": 2, "b": 1}, {"a": 0}) == {"a": 1, "b": 1}
    assert multiset(MISSING, {"x": 2}, {"x": 3, "y": 1}) == {"x": 5, "y": 1}
    assert multiset({"a": 2}, {"a": 1}, {"a": 1}) == {}
    assert multiset({"a": 2}, {}, {"a": 2}) == {}
    assert multiset({"a": 1}, {"a": 1}, {"a": -3}) == {"a": -3}


def test_multiset_zero_counts_dropped():
    assert multiset({}, {"a": 0, "b": 1}, {"c": 0}) == {"b": 1}
    assert multiset({"a": 0}, {}, {}) == {}


def test_multiset_non_string_members():
    assert multiset({1: 1}, {1: 2, -1: 1}, {1: 1, b"k": 4}) == {1: 2, -1: 1, b"k": 4}
    r = multiset({None: 1}, {None: 2, 2.5: 1}, {None: 1, False: 1})
    assert values_equal(r, {None: 2, 2.5: 1, False: 1})


def test_multiset_conflicts():
    _conflict(multiset({}, {"a": INT64_MAX}, {"a": 1}), "counter overflow", "a")
    _conflict(multiset({}, {"a": 1.5}, {}), "multiset: count not a 64-bit integer", "a")
    _conflict(multiset({}, {"a": True}, {}), None, "a")
    _conflict(multiset({}, [1], {}), "multiset: not a map")
    assert multiset({"a": 1}, MISSING, {"a": 1, "z": 0}) is MISSING
    _conflict(multiset({"a": 1}, MISSING, {"a": 2}), "multiset: removed on one side, changed on the other")
    assert multiset(MISSING, MISSING, {"a": 1, "b": 0}) == {"a": 1}


# -- map_merge ------------------------------------------------------------------------

M = map_merge(default)


def test_map_bindings_added_and_changed():
    assert M({"a": 1}, {"a": 1, "b": 2}, {"a": 1, "c": 3}) == {"a": 1, "b": 2, "c": 3}
    assert M({"a": 1, "b": 1}, {"a": 2, "b": 1}, {"a": 1, "b": 3}) == {"a": 2, "b": 3}
    assert M({}, {"k": "v"}, {"k": "v"}) == {"k": "v"}
    assert M(MISSING, {"a": 1}, {"b": 2}) == {"a": 1, "b": 2}


def test_map_removals_stay_removed():
    assert M({"a": 1, "b": 2}, {"b": 2}, {"a": 1, "b": 2, "c": 3}) == {"b": 2, "c": 3}
    assert M({"a": 1}, {}, {}) == {}
    r = _conflict(M({"a": 1, "b": 2}, {"b": 2}, {"a": 5, "b": 2}))
    assert r.path == "a"
    assert r.reason == "option: removed on one side, changed on the other"


def test_map_add_add_goes_through_f():
    r = _conflict(M({}, {"k": 1}, {"k": 2}), "default: both sides changed", "k")
    seen = []

    def spy(old, a, b):
        seen.append((old, a, b))
        return a + b

    assert map_merge(spy)({}, {"k": 1}, {"k": 2}) == {"k": 3}
    assert seen == [(MISSING, 1, 2)]
    assert r == Conflict("default: both sides changed", "k")


def test_map_nested_conflict_paths():
    deep = map_merge(map_merge(map_merge(default)))
    old = {"a": {"b": {"c": 1, "d": 1}}, "z": {}}
    a = {"a": {"b": {"c": 2, "d": 1}}, "z": {}}
    b = {"a": {"b": {"c": 3, "d": 1}}, "z": {}}
    _conflict(deep(old, a, b), "default: both sides changed", "a/b/c")
    ok_b = {"a": {"b": {"c": 1, "d": 5}}, "z": {"n": {}}}
    assert deep(old, a, ok_b) == {"a": {"b": {"c": 2, "d": 5}}, "z": {"n": {}}}


def test_map_first_conflict_is_deterministic():
    old = {"b": 0, "a": 0}
    r1 = M(old, {"a": 1, "b": 1}, {"b": 2, "a": 2})
    r2 = M(old, {"b": 2, "a": 2}, {"a": 1, "b": 1})
    assert r1 == r2 == Conflict("default: both sides changed", "a")


def test_map_non_string_keys():
    r = map_merge(counter)({1: 5, b"k": 1}, {1: 6, b"k": 1}, {1: 7, False: 1})
    assert values_equal(r, {1: 8, False: 1})
    assert not values_equal(r, {1: 8, 0: 1})
    _conflict(map_merge(default)({}, {7: "x"}, {7: "y"}), None, "7")


def test_map_with_counter_values():
    c = map_merge(counter)
    assert c({"n": 1}, {"n": 2, "m": 1}, {"n": 4, "m": 2}) == {"n": 5, "m": 3}
    _conflict(c({"n": 0}, {"n": INT64_MAX}, {"n": 1}), "counter overflow", "n")


def test_map_missing_and_shapes():
    assert M({"a": 1}, MISSING, {"a": 1}) is MISSING
    _conflict(M({"a": 1}, MISSING, {"a": 2}))
    assert M(MISSING, MISSING, {"a": 1}) == {"a": 1}
    _conflict(M({}, [1], {"a": 1}), "map: not a map")
    assert M([1], {"a": 1}, {"b": 1}) == {"a": 1, "b": 1}


def test_map_does_not_mutate():
    old = {"a": {"x": 1}, "b": 1}
    a = {"a": {"x": 2}, "b": 1}
    b = {"a": {"x": 1}, "b": 2, "c": [1]}
    r = map_merge(map_merge(default))(old, a, b)
    assert r == {"a": {"x": 2}, "b": 2, "c": [1]}
    assert old == {"a": {"x": 1}, "b": 1}
    assert a == {"a": {"x": 2}, "b": 1}
    assert b == {"a": {"x": 1}, "b": 2, "c": [1]}
    assert r is not a and r is not b


# -- lww --------------------------------------------------------------------------------


def test_lww_larger_timestamp_wins():
    assert lww([1, "o"], [5, "a"], [3, "b"]) == [5, "a"]
    assert lww([1, "o"], [3, "a"], [5, "b"]) == [5, "b"]
    assert lww(MISSING, [2, "a"], [9, "b"]) == [9, "b"]
    assert lww([1, "o"], [-5, "a"], [-7, "b"]) == [-5, "a"]


def test_lww_ties_by_encoded_value():
    assert lww([1, "o"], [5, "a"], [5, "b"]) == [5, "b"]
    assert lww([1, "o"], [5, "b"], [5, "a"]) == [5, "b"]
    # text strings encode after byte strings, longer after shorter
    assert lww([0, 0], [5, "a"], [5, b"zz"]) == [5, "a"]
    assert lww([0, 0], [5, "ab"], [5, "b"]) == [5, "ab"]
    assert lww([0, 0], [5, 1], [5, 1.0]) == [5, 1.0]
    assert lww([0, 0], [5, "x"], [5, "x"]) == [5, "x"]
    a, b = [5, {"k": 1}], [5, {"k": 2}]
    expected = a if encoded_key(a[1]) > encoded_key(b[1]) else b
    assert lww(MISSING, a, b) is expected
    assert lww(MISSING, b, a) is expected


def test_lww_unchanged_side_keeps_other_write():
    # as Irmin's option: a side that did not write leaves the other side's write
    assert lww([7, "o"], [7, "o"], [3, "b"]) == [3, "b"]
    assert lww([7, "o"], [3, "a"], [7, "o"]) == [3, "a"]


def test_lww_missing_and_malformed():
    assert lww([1, "o"], MISSING, [1, "o"]) is MISSING
    _conflict(lww([1, "o"], MISSING, [2, "b"]))
    assert lww(MISSING, MISSING, [2, "b"]) == [2, "b"]
    _conflict(lww([1, "o"], [2, "a", 3], [3, "b"]), "lww: not a [timestamp, value] register")
    _conflict(lww([1, "o"], [2.0, "a"], [3, "b"]))
    _conflict(lww([1, "o"], [True, "a"], [3, "b"]))


def test_multiset_first_overflow_is_deterministic():
    a = {"b": INT64_MAX, "a": INT64_MAX}
    b = {"a": 1, "b": 1}
    r1 = multiset({}, a, b)
    r2 = multiset({}, b, a)
    assert r1 == r2 == Conflict("counter overflow", "a")
