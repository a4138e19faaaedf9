"""Property tests (CPython, hypothesis) for portable_core.merge and containers.

Symmetry: merge(o, a, b) and merge(o, b, a) agree (same value, or both conflict at
the same path) for every combinator whose value function is symmetric. Identity:
merge(o, o, x) == x == merge(o, x, o). Idempotence: merge(o, x, x) == x where the
combinator promises it (not counter and multiset: both sides' changes add up).
Inputs are never mutated.
"""

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from portable_core import containers
from portable_core.cbor import encode
from portable_core.conflict import MISSING, is_conflict
from portable_core.merge import (
    INT64_MAX,
    INT64_MIN,
    counter,
    default,
    idempotent,
    lww,
    map_merge,
    multiset,
    option,
    pair,
    set_merge,
    values_equal,
)

settings.register_profile("sprig", max_examples=300, deadline=None)
settings.load_profile("sprig")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.binary(max_size=6),
)
small_scalars = st.one_of(
    st.booleans(), st.integers(-3, 3), st.sampled_from([0.0, -0.0, 1.0, float("nan")]), st.sampled_from(["a", "b"])
)
keys = st.one_of(st.sampled_from(["a", "b", "c", "d"]), st.integers(-2, 2))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=3), inner, max_size=4),
    ),
    max_leaves=12,
)
small_values = st.recursive(
    small_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)),
    max_leaves=6,
)
maybe_values = st.one_of(st.just(MISSING), small_values)
int64s = st.one_of(
    st.integers(INT64_MIN, INT64_MAX),
    st.integers(-50, 50),
    st.sampled_from([INT64_MIN, INT64_MAX, INT64_MAX - 1, INT64_MIN + 1]),
)
maybe_ints = st.one_of(st.just(MISSING), int64s)
set_members = st.one_of(st.integers(0, 8), st.sampled_from(["x", "y", True, None, 1.0, b"b"]))
sets = st.lists(set_members, max_size=6)
maybe_sets = st.one_of(st.just(MISSING), sets)
multisets = st.dictionaries(keys, st.integers(-3, 3), max_size=4)
maybe_multisets = st.one_of(st.just(MISSING), multisets)
registers = st.tuples(st.integers(0, 5), small_values).map(list)
maybe_registers = st.one_of(st.just(MISSING), registers)
int_maps = st.dictionaries(keys, st.integers(-3, 3), max_size=4)
maybe_int_maps = st.one_of(st.just(MISSING), int_maps)
nested_maps = st.dictionaries(
    st.sampled_from(["p", "q"]), st.dictionaries(st.sampled_from(["x", "y"]), st.integers(0, 2), max_size=2), max_size=2
)


def same_outcome(r1, r2):
    """Both conflicts at the same path, or equal values (MISSING included)."""
    if is_conflict(r1) or is_conflict(r2):
        return is_conflict(r1) and is_conflict(r2) and r1.path == r2.path
    return values_equal(r1, r2)


def check_symmetric_and_pure(f, o, a, b):
    saved = copy.deepcopy((o, a, b), {id(MISSING): MISSING})
    r1 = f(o, a, b)
    r2 = f(o, b, a)
    assert same_outcome(r1, r2), (o, a, b, r1, r2)
    assert values_equal((o, a, b), saved)
    return r1


def canon_set(x):
    if x is MISSING:
        return x
    idx = {encode(v): v for v in x}
    return [idx[k] for k in sorted(idx)]


def canon_multiset(x):
    if x is MISSING:
        return x
    return {k: v for k, v in x.items() if v != 0}


# -- values_equal -------------------------------------------------------------------


@given(values, values)
def test_values_equal_matches_encoding(x, y):
    assert values_equal(x, x)
    assert values_equal(x, copy.deepcopy(x))
    assert values_equal(x, y) == (encode(x) == encode(y))


# -- default / idempotent / option ----------------------------------------------------


@given(maybe_values, maybe_values, maybe_values)
def test_default_symmetric(o, a, b):
    r = check_symmetric_and_pure(default, o, a, b)
    if not is_conflict(r):
        assert values_equal(r, a) or values_equal(r, b)
    assert same_outcome(idempotent(o, a, b), r)


@given(maybe_values, maybe_values)
def test_default_identity_and_idempotence(o, x):
    assert values_equal(default(o, o, x), x)
    assert values_equal(default(o, x, o), x)
    assert values_equal(default(o, x, x), x)
    assert values_equal(idempotent(o, x, x), x)
    assert values_equal(option(default)(o, x, x), x)


@given(maybe_values, maybe_values, maybe_values)
def test_option_default_symmetric(o, a, b):
    check_symmetric_and_pure(option(default), o, a, b)


# -- counter -------------------------------------------------------------------------


@given(maybe_ints, maybe_ints, maybe_ints)
def test_counter_symmetric_and_in_range(o, a, b):
    r = check_symmetric_and_pure(counter, o, a, b)
    if not is_conflict(r) and r is not MISSING:
        assert INT64_MIN <= r <= INT64_MAX
    if a is not MISSING and b is not MISSING and not is_conflict(r):
        base = 0 if o is MISSING else o
        assert r == a + b - base or values_equal(o, a) or values_equal(o, b)


@given(maybe_ints, maybe_ints)
def test_counter_identity(o, x):
    assert values_equal(counter(o, o, x), x)
    assert values_equal(counter(o, x, o), x)


# -- set_merge ---------------------------------------------------------------------------


@given(maybe_sets, maybe_sets, maybe_sets)
def test_set_merge_symmetric_and_model(o, a, b):
    r = check_symmetric_and_pure(set_merge, o, a, b)
    if a is MISSING or b is MISSING:
        return
    assert not is_conflict(r)
    assert r == canon_set(r)
    ko = set() if o is MISSING else {encode(v) for v in o}
    ka = {encode(v) for v in a}
    kb = {encode(v) for v in b}
    assert {encode(v) for v in r} == (ko & ka & kb) | (ka - ko) | (kb - ko)


@given(maybe_sets, maybe_sets)
def test_set_merge_identity_and_idempotence(o, x):
    cx = canon_set(x)
    assert values_equal(set_merge(o, o, x), cx)
    assert values_equal(set_merge(o, x, o), cx)
    assert values_equal(set_merge(o, x, x), cx)


# -- multiset -------------------------------------------------------------------------------


@given(maybe_multisets, maybe_multisets, maybe_multisets)
def test_multiset_symmetric_and_model(o, a, b):
    r = check_symmetric_and_pure(multiset, o, a, b)
    if a is MISSING or b is MISSING:
        return
    o = {} if o is MISSING else o
    expected = {}
    for k in set(o) | set(a) | set(b):
        n = a.get(k, 0) + b.get(k, 0) - o.get(k, 0)
        if n:
            expected[k] = n
    assert values_equal(r, expected)


@given(maybe_multisets, maybe_multisets)
def test_multiset_identity(o, x):
    assert values_equal(multiset(o, o, x), canon_multiset(x))
    assert values_equal(multiset(o, x, o), canon_multiset(x))


# -- lww ---------------------------------------------------------------------------------------


@given(maybe_registers, maybe_registers, maybe_registers)
def test_lww_symmetric(o, a, b):
    r = check_symmetric_and_pure(lww, o, a, b)
    if a is not MISSING and b is not MISSING and not values_equal(o, a) and not values_equal(o, b):
        assert values_equal(r, max(a, b, key=lambda reg: (reg[0], encode(reg[1]))))


@given(maybe_registers, maybe_registers)
def test_lww_identity_and_idempotence(o, x):
    assert values_equal(lww(o, o, x), x)
    assert values_equal(lww(o, x, o), x)
    assert values_equal(lww(o, x, x), x)


# -- map_merge ------------------------------------------------------------------------------------


@given(maybe_int_maps, maybe_int_maps, maybe_int_maps)
def test_map_merge_symmetric(o, a, b):
    check_symmetric_and_pure(map_merge(default), o, a, b)
    check_symmetric_and_pure(map_merge(counter), o, a, b)


@given(nested_maps, nested_maps, nested_maps)
def test_nested_map_merge_symmetric(o, a, b):
    r = check_symmetric_and_pure(map_merge(map_merge(default)), o, a, b)
    if is_conflict(r):
        assert r.path.count("/") in (0, 1)


@given(maybe_int_maps, maybe_int_maps)
def test_map_merge_identity_and_idempotence(o, x):
    m = map_merge(default)
    assert values_equal(m(o, o, x), x)
    assert values_equal(m(o, x, o), x)
    assert values_equal(m(o, x, x), x)
    assert values_equal(map_merge(counter)(o, o, x), x)


@given(st.dictionaries(keys, small_values, max_size=4), st.dictionaries(keys, small_values, max_size=4))
def test_map_merge_any_values_identity(o, x):
    assert values_equal(map_merge(default)(o, o, x), x)
    assert values_equal(map_merge(default)(o, x, x), x)


# -- pair -----------------------------------------------------------------------------------------


@given(
    st.one_of(st.just(MISSING), st.tuples(int64s, small_values).map(list)),
    st.one_of(st.just(MISSING), st.tuples(int64s, small_values).map(list)),
    st.one_of(st.just(MISSING), st.tuples(int64s, small_values).map(list)),
)
def test_pair_symmetric(o, a, b):
    check_symmetric_and_pure(pair(counter, default), o, a, b)


# -- log ------------------------------------------------------------------------------------------

log_ops = st.lists(st.tuples(st.integers(0, 6), st.sampled_from(["p", "q", 1])), max_size=4)


def build_log(base, ops):
    log = base
    for t, p in ops:
        log = containers.log_append(log, t, p)
    return MISSING if log is MISSING and not ops else log


@given(log_ops, log_ops, log_ops)
def test_log_symmetric_and_keeps_all_entries(base_ops, ops_a, ops_b):
    o = build_log(MISSING, base_ops)
    a = build_log(o, ops_a)
    b = build_log(o, ops_b)
    r = check_symmetric_and_pure(containers.log_merge, o, a, b)
    assert not is_conflict(r)
    base = [] if o is MISSING else o
    if r is MISSING:
        assert a is MISSING and b is MISSING
        return
    assert r[: len(base)] == base
    merged_new = sorted(encode(e) for e in r[len(base) :])
    for side in (a, b):
        side_new = [] if side is MISSING else side[len(base) :]
        for e in side_new:
            assert encode(e) in merged_new
    assert values_equal(containers.log_merge(o, a, a), a)
    assert values_equal(containers.log_merge(o, o, a), a)
