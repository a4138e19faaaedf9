"""Mergeable containers at the value level: counter, LWW register, append-only log, set."""

from portable_core import containers as c
from portable_core import merge
from portable_core.conflict import MISSING
from portable_support import expect_conflict as _conflict, raises as _raises


# -- counter ------------------------------------------------------------------------


def test_counter_updates():
    assert c.counter_read(MISSING) == 0
    assert c.counter_inc(MISSING) == 1
    assert c.counter_inc(5, 3) == 8
    assert c.counter_dec(MISSING) == -1
    assert c.counter_dec(5, by=7) == -2
    assert c.counter_read(42) == 42
    _raises(ValueError, c.counter_inc, merge.INT64_MAX)
    _raises(ValueError, c.counter_dec, merge.INT64_MIN)
    _raises(ValueError, c.counter_inc, 1, 1.5)
    _raises(ValueError, c.counter_read, True)


def test_counter_concurrent_increments():
    base = c.counter_inc(MISSING, 10)
    left = c.counter_inc(c.counter_inc(base))
    right = c.counter_dec(base, 3)
    assert c.counter_merge(base, left, right) == 9
    assert c.counter_merge is merge.counter
    assert c.counter_merge(MISSING, c.counter_inc(MISSING), c.counter_inc(MISSING)) == 2


# -- LWW register -------------------------------------------------------------------


def test_lww_register_values():
    r = c.lww_make(100, {"temp": 21})
    assert r == [100, {"temp": 21}]
    assert c.lww_read(r) == {"temp": 21}
    assert c.lww_timestamp(r) == 100
    assert c.lww_read(MISSING) is None
    assert c.lww_read(MISSING, "dflt") == "dflt"
    assert c.lww_timestamp(MISSING) is None
    _raises(ValueError, c.lww_make, 1.5, "x")
    _raises(ValueError, c.lww_make, True, "x")


def test_lww_register_merge():
    base = c.lww_make(1, "boot")
    host = c.lww_make(1700000000, "host")
    device = c.lww_make(37, "device")
    assert c.lww_merge(base, host, device) == host
    assert c.lww_merge(base, device, host) == host
    assert c.lww_merge(base, base, device) == device
    tie_a, tie_b = c.lww_make(9, "a"), c.lww_make(9, "b")
    assert c.lww_merge(base, tie_a, tie_b) == tie_b == c.lww_merge(base, tie_b, tie_a)
    assert c.lww_merge is merge.lww


# -- append-only log ------------------------------------------------------------------


def test_log_append_and_read():
    log = c.log_append(MISSING, 10, "boot")
    log2 = c.log_append(log, 12, {"t": 20})
    assert log == [[10, 0, "boot"]]
    assert log2 == [[10, 0, "boot"], [12, 1, {"t": 20}]]
    assert c.log_read(log2) == ["boot", {"t": 20}]
    assert c.log_read(MISSING) == []
    assert c.log_entries(log2) == log2 and c.log_entries(log2) is not log2
    log3 = c.log_append(log2, 12, {"t": 20})
    assert log3[2] == [12, 2, {"t": 20}]
    _raises(ValueError, c.log_append, log, 1.0, "x")


def test_log_concurrent_appends():
    base = c.log_append(c.log_append(MISSING, 1, "a"), 2, "b")
    left = c.log_append(c.log_append(base, 7, "L1"), 3, "L2")
    right = c.log_append(base, 5, "R1")
    merged = c.log_merge(base, left, right)
    assert merged[:2] == base
    assert merged[2:] == [[3, 3, "L2"], [5, 2, "R1"], [7, 2, "L1"]]
    assert c.log_merge(base, right, left) == merged
    assert c.log_read(merged) == ["a", "b", "L2", "R1", "L1"]
    assert base == [[1, 0, "a"], [2, 1, "b"]]


def test_log_equal_timestamps_order_by_encoding():
    base = c.log_append(MISSING, 0, "x")
    left = c.log_append(base, 5, "b")
    right = c.log_append(base, 5, "a")
    merged = c.log_merge(base, left, right)
    assert c.log_read(merged) == ["x", "a", "b"]
    assert c.log_merge(base, right, left) == merged
    # same timestamp and payload, different seq: both kept, lower seq first
    left2 = c.log_append(c.log_append(base, 5, "p"), 5, "q")
    right2 = c.log_append(base, 5, "q")
    m2 = c.log_merge(base, left2, right2)
    assert m2[1:] == [[5, 1, "p"], [5, 1, "q"], [5, 2, "q"]]


def test_log_extension_and_duplicates():
    base = c.log_append(MISSING, 1, "a")
    left = c.log_append(base, 9, "late")
    longer = c.log_append(left, 4, "early")  # clock went back: order kept, not sorted
    assert c.log_merge(base, left, longer) == longer
    assert c.log_merge(base, longer, left) == longer
    assert c.log_merge(base, longer, longer) == longer
    assert c.log_merge(base, base, longer) == longer
    # an entry appended identically on both sides is kept once
    same = c.log_append(base, 3, "same")
    other = c.log_append(c.log_append(base, 3, "same"), 1, "other")
    merged = c.log_merge(base, same, c.log_append(base, 2, "x"))
    assert c.log_read(merged) == ["a", "x", "same"]
    assert c.log_merge(base, other, same) == other


def test_log_created_on_both_sides():
    left = c.log_append(MISSING, 4, "l")
    right = c.log_append(MISSING, 2, "r")
    assert c.log_merge(MISSING, left, right) == [[2, 0, "r"], [4, 0, "l"]]
    assert c.log_merge(MISSING, MISSING, right) == right


def test_log_removals_conflict():
    base = c.log_append(c.log_append(MISSING, 1, "a"), 2, "b")
    grown = c.log_append(base, 3, "c")
    _conflict(c.log_merge(base, base[:1], grown), "log: entries removed")
    _conflict(c.log_merge(base, grown, []), "log: entries removed")
    _conflict(c.log_merge(base, base[:1], base), "log: entries removed")
    rewritten = [[1, 0, "A"], [2, 1, "b"], [3, 2, "c"]]
    _conflict(c.log_merge(base, grown, rewritten), "log: entries removed")
    _conflict(c.log_merge(base, [[1, 0]], grown))
    _conflict(c.log_merge(base, "x", grown))
    # removing the whole log follows option semantics
    assert c.log_merge(base, MISSING, base) is MISSING
    _conflict(c.log_merge(base, MISSING, grown))


# -- set -----------------------------------------------------------------------------------


def test_set_updates():
    s = c.set_add(MISSING, "b")
    s = c.set_add(s, "a")
    s = c.set_add(s, "b")
    assert s == ["a", "b"]
    assert c.set_members(s) == ["a", "b"]
    assert c.set_members(MISSING) == []
    assert c.set_members([3, 1, 3]) == [1, 3]
    assert c.set_contains(s, "a")
    assert not c.set_contains(s, "z")
    assert not c.set_contains(MISSING, "a")
    assert not c.set_contains([1], True)
    assert c.set_remove(s, "a") == ["b"]
    assert c.set_remove(s, "z") == ["a", "b"]
    assert c.set_remove(MISSING, "z") == []
    assert s == ["a", "b"]
    assert c.set_make([2, 1, 2, True, 1.0]) == [1, 2, True, 1.0]
    assert c.set_add([1], True) == [1, True]


def test_set_merge():
    base = c.set_make(["a", "b", "c"])
    left = c.set_add(c.set_remove(base, "a"), "x")
    right = c.set_add(c.set_remove(base, "c"), "y")
    assert c.set_merge(base, left, right) == ["b", "x", "y"]
    assert c.set_merge(base, right, left) == ["b", "x", "y"]
    assert c.set_merge is merge.set_merge
