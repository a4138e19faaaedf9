"""Three-way merge functions for CBOR values: Irmin's ``Merge`` module, value level.

A merge function is ``f(old, a, b)``: ``old`` is the value in the common ancestor,
``a`` and ``b`` the values on the two sides. It returns the merged value, or a
``Conflict`` instance (a value, never raised). ``MISSING`` stands for "absent" (no
key, no file, no common ancestor); a function that returns ``MISSING`` means "the
merged result is absent". A merge never mutates its inputs; it may return one of
them unchanged.

Values are CBOR data-model values: None, bool, int, float, str, bytes, list, dict
(tuples are read as lists, bytearrays as bytes). Equality is ``values_equal``:
structural and type-strict (``True != 1``, ``1 != 1.0``, ``0.0 != -0.0``), and NaN
equals NaN, so two values are equal exactly when their CBOR encodings are.

Where an order must be chosen (set members, log entries, tie breaks, the first
conflict in a map), Sprig orders by the deterministic CBOR encoding
(``portable_core.cbor.encode``), so every runtime picks the same result.

Differences from Irmin, on purpose:

- Irmin's ``default`` conflicts when both sides make the same change and when there
  is no common ancestor; Sprig's ``default`` accepts equal sides (as Git does), so it
  behaves like Irmin's ``idempotent``. ``idempotent`` is kept for code ported from
  Irmin and gives the same results.
- Irmin tells "no common ancestor" (``None``) from "absent in the ancestor"
  (``Some None``); Sprig has only ``MISSING`` for both. Irmin's ``option`` reads both
  the same way before calling the inner merge, so no result differs.
- ``counter`` and ``multiset`` report overflow of a signed 64-bit integer as a
  conflict where Irmin's int64 wraps around.
- The combinators for whole values (``counter``, ``set_merge``, ``multiset``,
  ``map_merge``, ``lww``, ``pair``, ``triple``) already handle ``MISSING`` sides the
  way Irmin's ``option`` does, since a store calls them for absent paths too.
"""

import struct

from portable_core.conflict import MISSING, Conflict, is_conflict

__all__ = [
    "MISSING",
    "Conflict",
    "is_conflict",
    "values_equal",
    "encoded_key",
    "default",
    "idempotent",
    "option",
    "pair",
    "triple",
    "counter",
    "set_merge",
    "multiset",
    "map_merge",
    "lww",
    "MergePolicy",
    "by_path",
    "INT64_MIN",
    "INT64_MAX",
]

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1

REMOVED_CHANGED = "removed on one side, changed on the other"

# Value kinds for values_equal (small ints, compared only with each other).
_K_NONE = 0
_K_BOOL = 1
_K_INT = 2
_K_FLOAT = 3
_K_STR = 4
_K_BYTES = 5
_K_LIST = 6
_K_DICT = 7
_K_OTHER = 8


def _kind(x):
    t = type(x)
    if t is str:
        return _K_STR
    if t is int:
        return _K_INT
    if t is list or t is tuple:
        return _K_LIST
    if t is dict:
        return _K_DICT
    if t is bytes or t is bytearray or t is memoryview:
        return _K_BYTES
    if t is bool:
        return _K_BOOL
    if t is float:
        return _K_FLOAT
    if x is None:
        return _K_NONE
    return _K_OTHER


def _float_equal(x, y):
    if x != x:
        return y != y
    return struct.pack(">d", x) == struct.pack(">d", y)


def _typed_key(k):
    """A dict key that compares type-strictly (Python's own 1 == True == 1.0)."""
    kind = _kind(k)
    if kind == _K_FLOAT:
        return (kind, struct.pack(">d", k))
    if kind == _K_BYTES:
        return (kind, bytes(k))
    return (kind, k)


def values_equal(x, y):
    """Return True when CBOR values ``x`` and ``y`` are equal, structurally and by type.

    ``True != 1``, ``1 != 1.0``, ``0.0 != -0.0``, NaN equals NaN, a tuple equals the
    list with the same items, a bytearray the bytes with the same content. Dict keys
    are matched type-strictly too. ``MISSING`` equals only itself.
    """
    if x is y:
        return True
    kind = _kind(x)
    if kind != _kind(y):
        return False
    if kind == _K_LIST:
        n = len(x)
        if n != len(y):
            return False
        for i in range(n):
            if not values_equal(x[i], y[i]):
                return False
        return True
    if kind == _K_DICT:
        if len(x) != len(y):
            return False
        typed = None
        for k in x:
            if type(k) is str:
                if k not in y:
                    return False
                other = y[k]
            else:
                if typed is None:
                    typed = {}
                    for yk in y:
                        typed[_typed_key(yk)] = y[yk]
                tk = _typed_key(k)
                if tk not in typed:
                    return False
                other = typed[tk]
            if not values_equal(x[k], other):
                return False
        return True
    if kind == _K_FLOAT:
        return _float_equal(x, y)
    if kind == _K_BYTES:
        return bytes(x) == bytes(y)
    return x == y


_encode_fn = None


def encoded_key(value):
    """Return the deterministic CBOR encoding of ``value``: Sprig's sort key for values."""
    global _encode_fn
    if _encode_fn is None:
        from portable_core.cbor import encode

        _encode_fn = encode
    return _encode_fn(value)


def _is_int64(x):
    return type(x) is int and INT64_MIN <= x <= INT64_MAX


def _key_label(k):
    """The path segment that names dict key ``k`` in a conflict."""
    if type(k) is str:
        return k
    return repr(k)


def default(old, a, b):
    """Merge plain values: equal sides -> ``a``; one side unchanged -> the other side.

    ``a == b`` -> ``a``; ``old == a`` -> ``b``; ``old == b`` -> ``a``; otherwise
    ``Conflict("default: both sides changed")``. ``MISSING`` is compared like any
    value, so a key removed on one side and unchanged on the other stays removed, and
    a key created on both sides with different values conflicts. This is Irmin's
    ``idempotent`` (Irmin's own ``default`` also conflicts when both sides make the
    same change).
    """
    if values_equal(a, b):
        return a
    if values_equal(old, a):
        return b
    if values_equal(old, b):
        return a
    return Conflict("default: both sides changed")


def idempotent(old, a, b):
    """Irmin's ``Merge.idempotent``: equal sides -> ``a``, else the three-way rule.

    Irmin: ``if equal x y then ok x else default ~old x y``, where Irmin's default
    takes the changed side when the other is unchanged and conflicts otherwise (and
    when there is no common ancestor). With Sprig's ``MISSING`` standing for both "no
    ancestor" and "absent in the ancestor", this gives the same results as
    ``default``; only the conflict reason names ``idempotent``.
    """
    if values_equal(a, b):
        return a
    if values_equal(old, a):
        return b
    if values_equal(old, b):
        return a
    if old is MISSING:
        return Conflict("idempotent: added on both sides with different values")
    return Conflict("idempotent: both sides changed")


def option(f):
    """Lift merge function ``f`` to values that may be ``MISSING``, as Irmin's ``option``.

    The returned function first applies the three-way rule to the values, ``MISSING``
    included: ``old == a`` -> ``b``, ``old == b`` -> ``a`` (so a removal on one side
    with no change on the other stays removed, and a creation on one side is kept).
    Then: removed on both sides -> ``MISSING``; removed on one side and changed on the
    other -> ``Conflict("option: removed on one side, changed on the other")``
    (Irmin's "option: add/del"); present on both sides -> ``f(old, a, b)``, where
    ``old`` is ``MISSING`` when both sides created the value, so ``f`` must accept a
    ``MISSING`` ancestor (every combinator in this module does; ``default`` then
    keeps equal sides and conflicts on different ones). As in Irmin, ``f`` is called
    even when both sides made the same change (a counter incremented on both sides
    counts both increments).
    """

    def merge_option(old, a, b):
        if values_equal(old, a):
            return b
        if values_equal(old, b):
            return a
        if a is MISSING:
            if b is MISSING:
                return MISSING
            return Conflict("option: " + REMOVED_CHANGED)
        if b is MISSING:
            return Conflict("option: " + REMOVED_CHANGED)
        return f(old, a, b)

    return merge_option


def _is_tuple(x, n):
    t = type(x)
    return (t is list or t is tuple) and len(x) == n


def _tuple_merge(fs, name):
    n = len(fs)

    def merge_parts(old, a, b):
        if not _is_tuple(a, n) or not _is_tuple(b, n):
            return Conflict("%s: not a list of %d values" % (name, n))
        old_ok = _is_tuple(old, n)
        out = []
        for i in range(n):
            r = fs[i](old[i] if old_ok else MISSING, a[i], b[i])
            if is_conflict(r):
                return r.at(str(i))
            if r is MISSING:
                return Conflict("%s: a component merged to nothing" % name).at(str(i))
            out.append(r)
        return out

    return option(merge_parts)


def pair(f1, f2):
    """Merge 2-element lists ``[x, y]`` component-wise with ``f1`` and ``f2`` (Irmin's ``pair``).

    One side unchanged -> the other side; otherwise ``[f1(o0, a0, b0), f2(o1, a1, b1)]``
    (``o0``/``o1`` are ``MISSING`` when ``old`` is absent or not a pair). A component
    conflict is returned located at ``"0"`` or ``"1"``. Absent sides follow ``option``.
    """
    return _tuple_merge((f1, f2), "pair")


def triple(f1, f2, f3):
    """Merge 3-element lists component-wise with ``f1``, ``f2``, ``f3`` (Irmin's ``triple``).

    As ``pair``; component conflicts are located at ``"0"``, ``"1"`` or ``"2"``.
    """
    return _tuple_merge((f1, f2, f3), "triple")


def _counter_core(old, a, b):
    if old is MISSING:
        old = 0
    if not (_is_int64(old) and _is_int64(a) and _is_int64(b)):
        return Conflict("counter: not a 64-bit integer")
    r = a + b - old
    if r < INT64_MIN or r > INT64_MAX:
        return Conflict("counter overflow")
    return r


_counter = option(_counter_core)


def counter(old, a, b):
    """Merge integer counters: ``a + b - old`` (Irmin's ``counter``; absent ``old`` is 0).

    Both sides' increments and decrements are kept. The value is a signed 64-bit
    integer (Irmin's int64): a result out of range is ``Conflict("counter overflow")``
    instead of wrapping around; a non-integer (bool included) conflicts. Absent sides
    follow ``option``: removed on one side and unchanged on the other -> ``MISSING``.
    """
    return _counter(old, a, b)


def _is_seq(x):
    t = type(x)
    return t is list or t is tuple


def _set_index(v):
    """{encoded member: member} for a list read as a set."""
    index = {}
    for item in v:
        index[encoded_key(item)] = item
    return index


def _removed_case(old, a, b, name):
    """The merge of canonical values where ``a`` or ``b`` is MISSING (option's rules)."""
    if a is MISSING:
        if b is MISSING:
            return MISSING
        other = b
    else:
        other = a
    if old is MISSING:
        return other
    if values_equal(old, other):
        return MISSING
    return Conflict(name + ": " + REMOVED_CHANGED)


def set_merge(old, a, b):
    """Merge lists read as sets: additions from either side kept, removals applied.

    Irmin's ``Set``: ``(old - removed_by_a - removed_by_b) + added_by_a + added_by_b``
    (absent ``old`` is the empty set). The result is canonical: no duplicates, members
    sorted by their CBOR encoding. A non-list conflicts. Absent sides follow
    ``option`` (sides compared as sets).
    """
    for v in (old, a, b):
        if v is not MISSING and not _is_seq(v):
            return Conflict("set: not a list")
    io = {} if old is MISSING else _set_index(old)
    if a is MISSING or b is MISSING:
        return _removed_case(
            MISSING if old is MISSING else _sorted_values(io),
            MISSING if a is MISSING else _sorted_values(_set_index(a)),
            MISSING if b is MISSING else _sorted_values(_set_index(b)),
            "set",
        )
    ia = _set_index(a)
    ib = _set_index(b)
    out = {}
    for k in io:
        if k in ia and k in ib:
            out[k] = io[k]
    for side in (ia, ib):
        for k in side:
            if k not in io:
                out[k] = side[k]
    return _sorted_values(out)


def _sorted_values(index):
    return [index[k] for k in sorted(index)]


def _multiset_index(v):
    """{encoded key: (key, count)} without zero counts, or a Conflict."""
    index = {}
    for k in v:
        count = v[k]
        if not _is_int64(count):
            return Conflict("multiset: count not a 64-bit integer").at(_key_label(k))
        if count != 0:
            index[encoded_key(k)] = (k, count)
    return index


def _multiset_value(index):
    out = {}
    for ek in sorted(index):
        k, count = index[ek]
        out[k] = count
    return out


def multiset(old, a, b):
    """Merge multisets ``{member: count}``: per member, counts merge as ``counter``.

    Irmin's ``MultiSet``: every member's count is ``a + b - old`` (a member absent
    from a map counts 0; absent ``old`` is the empty multiset); zero counts are
    dropped; the result's keys are in the order of their CBOR encodings. A count out
    of signed 64-bit range conflicts with "counter overflow" at the member's path
    (the first such member in that order). Absent sides follow ``option`` (sides compared without zero
    counts). A non-dict or a non-integer count conflicts.
    """
    idx = []
    for v in (old, a, b):
        if v is MISSING:
            idx.append(MISSING)
            continue
        if type(v) is not dict:
            return Conflict("multiset: not a map")
        i = _multiset_index(v)
        if is_conflict(i):
            return i
        idx.append(i)
    io, ia, ib = idx
    if ia is MISSING or ib is MISSING:
        return _removed_case(
            MISSING if io is MISSING else _multiset_value(io),
            MISSING if ia is MISSING else _multiset_value(ia),
            MISSING if ib is MISSING else _multiset_value(ib),
            "multiset",
        )
    if io is MISSING:
        io = {}
    members = {}
    for side in (io, ia, ib):
        for ek in side:
            members[ek] = side[ek][0]
    out = {}
    for ek in sorted(members):
        c = _count(ia, ek) + _count(ib, ek) - _count(io, ek)
        if c < INT64_MIN or c > INT64_MAX:
            return Conflict("counter overflow").at(_key_label(members[ek]))
        if c != 0:
            out[members[ek]] = c
    return out


def _count(index, ek):
    entry = index.get(ek)
    return 0 if entry is None else entry[1]


def _map_index(m):
    """{encoded key: (key, value)} for dict ``m``."""
    index = {}
    for k in m:
        index[encoded_key(k)] = (k, m[k])
    return index


def _value_at(index, ek):
    entry = index.get(ek)
    return MISSING if entry is None else entry[1]


def map_merge(f=default, fields=None, for_key=None):
    """Return a merge function for dicts whose values merge key by key (Irmin's ``Map``,
    ``alist`` and record merges).

    The merge function of a key is, first found: ``fields[key]`` (``fields``: a dict
    ``{key: merge function}``, keys matched type-strictly as in ``values_equal``),
    then ``for_key(key)`` unless it returns None (Irmin's ``alist``/``Map.merge``
    shape, ``key -> merge``), then ``f``. ``f`` may itself be such a dict, so
    ``map_merge({"count": counter, "tags": set_merge})`` reads as a record merge
    whose other keys use ``default``; ``map_merge(counter)`` merges every value as
    a counter; ``map_merge(fields={"count": counter}, f=lww)`` uses ``lww`` for the
    other keys. A non-callable function in ``f`` or ``fields`` raises TypeError
    here, one returned by ``for_key`` during the merge.

    Each key is merged with ``option(its function)``: a binding added on one side
    is kept; the same key added on both sides merges as ``g(MISSING, x, y)``; a
    binding removed on one side and unchanged on the other stays removed; removed on
    one side and changed on the other conflicts; bindings changed on both sides
    merge with ``g``. A key whose merge is ``MISSING`` is left out. The first
    conflict, in the order of the keys' CBOR encodings, is returned located at the
    key (``Conflict.at``), so nested maps give a path such as ``"a/b"`` (non-string
    keys appear as their ``repr``; a "/" inside a key is not escaped). Absent ``old``
    (or an ``old`` that is not a dict) is the empty map; absent sides follow
    ``option``; a non-dict side conflicts.
    """
    if type(f) is dict:
        if fields is not None:
            raise TypeError("map_merge: give the per-key functions once (f or fields)")
        fields = f
        f = default
    if not callable(f):
        raise TypeError("map_merge: %r is not a merge function" % (f,))
    if for_key is not None and not callable(for_key):
        raise TypeError("map_merge: for_key %r is not a function" % (for_key,))
    merge_value = option(f)
    by_key = None
    if fields is not None:
        if type(fields) is not dict:
            raise TypeError("map_merge: fields must be a dict {key: merge function}")
        by_key = {}
        for k in fields:
            g = fields[k]
            if not callable(g):
                raise TypeError("map_merge: the merge function of key %r is %r" % (k, g))
            by_key[encoded_key(k)] = option(g)

    def function_of(ek, k):
        if by_key is not None:
            g = by_key.get(ek)
            if g is not None:
                return g
        if for_key is not None:
            g = for_key(k)
            if g is not None:
                if not callable(g):
                    raise TypeError("map_merge: for_key(%r) gave %r, not a merge function" % (k, g))
                return option(g)
        return merge_value

    def merge_maps(old, a, b):
        if type(a) is not dict or type(b) is not dict:
            return Conflict("map: not a map")
        if type(old) is not dict:
            old = {}
        io = _map_index(old)
        ia = _map_index(a)
        ib = _map_index(b)
        keys = {}
        for side in (io, ia, ib):
            for ek in side:
                keys[ek] = side[ek][0]
        out = {}
        for ek in sorted(keys):
            k = keys[ek]
            r = function_of(ek, k)(_value_at(io, ek), _value_at(ia, ek), _value_at(ib, ek))
            if is_conflict(r):
                return r.at(_key_label(k))
            if r is not MISSING:
                out[k] = r
        return out

    return option(merge_maps)


def _is_register(x):
    return _is_tuple(x, 2) and type(x[0]) is int


def _lww_core(old, a, b):
    if not _is_register(a) or not _is_register(b):
        return Conflict("lww: not a [timestamp, value] register")
    if a[0] > b[0]:
        return a
    if b[0] > a[0]:
        return b
    if encoded_key(a[1]) >= encoded_key(b[1]):
        return a
    return b


_lww = option(_lww_core)


def lww(old, a, b):
    """Merge last-writer-wins registers ``[timestamp, value]`` (irmin-containers' LWW).

    When both sides wrote, the larger timestamp (an int: host time or a device
    counter) wins; on equal timestamps the value with the larger CBOR encoding wins,
    so the result does not depend on the order of the sides. As in Irmin, the merge is
    wrapped in ``option``: a side that did not write leaves the other side's write in
    place, whatever its timestamp. A malformed register conflicts.
    """
    return _lww(old, a, b)


def _segments(path):
    if type(path) is str:
        return tuple([s for s in path.split("/") if s])
    return tuple(path)


class MergePolicy:
    """Which merge function applies at which path: the rule with the longest prefix.

    ``MergePolicy({prefix: f, ...}, fallback=default)``. Prefixes and paths are
    ``"a/b/c"`` strings (or sequences of segments) compared segment by segment:
    ``"a/b"`` applies to ``"a/b"`` and ``"a/b/c"`` but not to ``"a/bc"``; ``""``
    applies everywhere. Paths without a matching rule use ``fallback``.
    """

    def __init__(self, rules=None, fallback=default):
        self.fallback = fallback
        self._rules = {}
        if rules:
            for prefix in rules:
                segs = _segments(prefix)
                if segs in self._rules:
                    raise ValueError("two merge rules for the prefix %r" % (prefix,))
                self._rules[segs] = rules[prefix]

    def set_rule(self, prefix, f):
        """Use ``f`` for ``prefix`` and the paths under it (replacing any rule there)."""
        self._rules[_segments(prefix)] = f

    def for_path(self, path):
        """Return the merge function for ``path`` (a string or a sequence of segments)."""
        segs = _segments(path)
        rules = self._rules
        for i in range(len(segs), -1, -1):
            f = rules.get(segs[:i])
            if f is not None:
                return f
        return self.fallback

    def merge(self, path, old, a, b):
        """Merge the values at ``path`` with the function the policy gives for it."""
        return self.for_path(path)(old, a, b)

    def __repr__(self):
        return "MergePolicy(%d rules)" % len(self._rules)


def by_path(rules, fallback=default):
    """Return a ``MergePolicy`` choosing among ``rules`` ({prefix: function}) by longest prefix."""
    return MergePolicy(rules, fallback)
