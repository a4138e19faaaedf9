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


def test_map_record_fields_merge_with_their_own_function():
    # Irmin's record/alist merges: a merge function per key, the rest with default
    rec = map_merge({"count": counter, "tags": set_merge})
    old = {"count": 1, "tags": ["a"], "name": "x"}
    a = {"count": 3, "tags": ["a", "b"], "name": "x"}
    b = {"count": 2, "tags": ["c"], "name": "y"}
    assert rec(old, a, b) == {"count": 4, "name": "y", "tags": ["b", "c"]}
    # a key without a function of its own uses default: both changed -> conflict
    _conflict(rec(old, dict(a, name="z"), b), "default: both sides changed", "name")
    # fields= with another fallback for the other keys
    other = map_merge(fields={"count": counter}, f=lww)
    r = other({"count": 0, "r": [1, "o"]}, {"count": 1, "r": [5, "a"]}, {"count": 1, "r": [3, "b"]})
    assert r == {"count": 2, "r": [5, "a"]}
    # added on both sides: the field's function with a MISSING ancestor
    assert rec({}, {"count": 2}, {"count": 3}) == {"count": 5}
    # removed on one side, changed on the other still conflicts, at the key
    _conflict(rec({"count": 1}, {}, {"count": 2}), "option: removed on one side, changed on the other", "count")


def test_map_fields_match_keys_by_type():
    by_int = map_merge({1: counter})
    r = by_int({1: 1, True: 1}, {1: 2, True: 1}, {1: 3, True: 1})
    assert values_equal(r, {1: 4, True: 1})
    # True is not the key 1: its values merge with default
    _conflict(by_int({True: 1}, {True: 2}, {True: 3}), "default: both sides changed", "True")
    assert map_merge({b"k": counter})({}, {b"k": 1}, {b"k": 1}) == {b"k": 2}


def test_map_for_key_chooses_per_key():
    # Irmin's alist/Map.merge shape: key -> merge function (None: the fallback)
    asked = []

    def choose(key):
        asked.append(key)
        return counter if key.startswith("n_") else None

    m = map_merge(for_key=choose)
    assert m({"n_a": 1, "s": 0}, {"n_a": 2, "s": 0}, {"n_a": 5, "s": 1}) == {"n_a": 6, "s": 1}
    _conflict(m({"s": 0}, {"s": 1}, {"s": 2}), "default: both sides changed", "s")
    assert "n_a" in asked and "s" in asked
    # fields win over for_key
    both = map_merge(fields={"n_x": default}, for_key=choose)
    _conflict(both({"n_x": 0}, {"n_x": 1}, {"n_x": 2}), None, "n_x")


def test_map_nested_records_give_paths():
    nested = map_merge({"stats": map_merge({"hits": counter}), "cfg": map_merge(default)})
    old = {"stats": {"hits": 1, "mode": "a"}, "cfg": {"x": 1}}
    a = {"stats": {"hits": 2, "mode": "a"}, "cfg": {"x": 2}}
    b = {"stats": {"hits": 4, "mode": "a"}, "cfg": {"x": 1}}
    assert nested(old, a, b) == {"cfg": {"x": 2}, "stats": {"hits": 5, "mode": "a"}}
    b2 = {"stats": {"hits": 4, "mode": "b"}, "cfg": {"x": 1}}
    a2 = {"stats": {"hits": 2, "mode": "c"}, "cfg": {"x": 1}}
    _conflict(nested(old, a2, b2), "default: both sides changed", "stats/mode")


def test_map_merge_refuses_bad_functions():
    for bad in (
        lambda: map_merge(5),
        lambda: map_merge({"k": 5}),
        lambda: map_merge({"k": counter}, fields={"j": counter}),
        lambda: map_merge(fields=[counter]),
        lambda: map_merge(for_key="x"),
    ):
        try:
            bad()
        except TypeError:
            continue
        raise AssertionError("no TypeError")
    m = map_merge(for_key=lambda k: 7)
    try:
        m({}, {"a": 1}, {"a": 2})
    except TypeError as exc:
        assert "for_key" in str(exc)
    else:
        raise AssertionError("no TypeError")


def test_branch_merge_with_a_record_policy():
    from portable_core.merge import MergePolicy
    from portable_support import new_repo

    policy = MergePolicy({"dev": map_merge({"boots": counter, "tags": set_merge})})
    repo = new_repo(policy)
    main = repo.main()
    main.set("dev", {"boots": 1, "tags": ["x"], "name": "n"})
    side = main.clone("side")
    main.set("dev", {"boots": 2, "tags": ["x", "m"], "name": "n"})
    side.set("dev", {"boots": 3, "tags": [], "name": "s"})
    main.merge_with_branch("side")
    assert main.get("dev") == {"boots": 4, "name": "s", "tags": ["m"]}


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
