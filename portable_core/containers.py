"""Mergeable containers (irmin-containers), as plain values and pure functions.

Each container is a CBOR value stored at one path, with the merge function to use
at that path. The functions here never touch a store and never mutate their
arguments: an update takes the current value (``MISSING`` when the path is empty)
and returns the new value to store. A store wraps them (``Counter(branch, path)``
and so on) by reading the path, calling the function and writing the result, and by
merging the path with the container's ``*_merge`` function.

Counter: an int, a signed 64-bit integer as in Irmin. ``counter_inc`` and
``counter_dec`` (``by=1``) return the new value; an empty path reads as 0.
``counter_merge`` is ``merge.counter``: concurrent increments add up
(``a + b - old``); overflow is a conflict.

LWW register: ``[timestamp, value]``. ``lww_make(timestamp, value)`` builds one,
``lww_read`` returns the value. The timestamp is an int (host time, or a device
counter, which need not be synchronised: it only decides between concurrent
writes). ``lww_merge`` is ``merge.lww``: of two concurrent writes the larger
timestamp wins, equal timestamps are decided by the larger CBOR encoding of the
value, so both replicas pick the same winner.

Append-only log: a list of entries ``[timestamp, seq, payload]``, oldest first.
``log_append(log, timestamp, payload)`` adds an entry whose ``seq`` is the log's
length at that point (so repeated payloads at one timestamp stay distinct);
``log_read`` returns the payloads oldest first, ``log_entries`` the entries.
``log_merge`` keeps the common prefix (the ancestor's entries) and appends the
entries either side added after it, sorted by ``(timestamp, CBOR encoding of the
entry)``; an entry added identically on both sides is kept once, and a side that
merely extends the other is taken as is. A side that dropped or rewrote any of the
ancestor's entries conflicts with "log: entries removed". (Irmin's blob log keeps
entries newer than the ancestor's newest timestamp and never detects removals;
Sprig compares positions instead, so a slow clock cannot lose entries.)

Set: a canonical list of members (no duplicates, sorted by CBOR encoding).
``set_add``, ``set_remove``, ``set_contains``, ``set_members``; ``set_merge`` is
``merge.set_merge``: additions from either side are kept and removals from either
side applied.
"""

from portable_core import merge as _merge
from portable_core.conflict import MISSING, Conflict

__all__ = [
    "counter_read",
    "counter_inc",
    "counter_dec",
    "counter_merge",
    "lww_make",
    "lww_read",
    "lww_timestamp",
    "lww_merge",
    "log_append",
    "log_read",
    "log_entries",
    "log_merge",
    "set_make",
    "set_add",
    "set_remove",
    "set_contains",
    "set_members",
    "set_merge",
]

# -- counter ----------------------------------------------------------------

counter_merge = _merge.counter


def counter_read(value):
    """Return the counter's value: 0 for an empty path (``MISSING``)."""
    if value is MISSING:
        return 0
    _check_int64(value, "counter")
    return value


def counter_inc(value, by=1):
    """Return the counter ``value`` (``MISSING`` reads as 0) increased by ``by``.

    Raises ValueError when the result leaves the signed 64-bit range.
    """
    _check_int64(by, "counter increment")
    r = counter_read(value) + by
    if r < _merge.INT64_MIN or r > _merge.INT64_MAX:
        raise ValueError("counter overflow")
    return r


def counter_dec(value, by=1):
    """Return the counter ``value`` (``MISSING`` reads as 0) decreased by ``by``."""
    _check_int64(by, "counter decrement")
    return counter_inc(value, -by)


def _check_int64(x, what):
    if type(x) is not int or x < _merge.INT64_MIN or x > _merge.INT64_MAX:
        raise ValueError(what + " must be a 64-bit integer")


# -- LWW register -------------------------------------------------------------

lww_merge = _merge.lww


def lww_make(timestamp, value):
    """Return the register ``[timestamp, value]``; ``timestamp`` must be an int."""
    if type(timestamp) is not int:
        raise ValueError("lww timestamp must be an int")
    return [timestamp, value]


def lww_read(reg, default=None):
    """Return the register's value, or ``default`` for an empty path (``MISSING``)."""
    if reg is MISSING:
        return default
    return reg[1]


def lww_timestamp(reg):
    """Return the register's timestamp, or None for an empty path (``MISSING``)."""
    if reg is MISSING:
        return None
    return reg[0]


# -- append-only log ------------------------------------------------------------


def _log_list(log):
    if log is MISSING:
        return []
    t = type(log)
    if t is not list and t is not tuple:
        raise ValueError("a log is a list of entries")
    return log


def log_append(log, timestamp, payload):
    """Return a new log: ``log`` (``MISSING`` is empty) plus ``[timestamp, seq, payload]``."""
    if type(timestamp) is not int:
        raise ValueError("log timestamp must be an int")
    entries = list(_log_list(log))
    entries.append([timestamp, len(entries), payload])
    return entries


def log_entries(log):
    """Return a copy of the log's entries ``[timestamp, seq, payload]``, oldest first."""
    return list(_log_list(log))


def log_read(log):
    """Return the log's payloads, oldest first (``[]`` for ``MISSING``)."""
    return [e[2] for e in _log_list(log)]


def _is_log(x):
    t = type(x)
    if t is not list and t is not tuple:
        return False
    for e in x:
        te = type(e)
        if (te is not list and te is not tuple) or len(e) != 3:
            return False
        if type(e[0]) is not int or type(e[1]) is not int:
            return False
    return True


def _extends(prefix, log):
    """True when ``log`` starts with the entries of ``prefix``."""
    n = len(prefix)
    if len(log) < n:
        return False
    eq = _merge.values_equal
    for i in range(n):
        if not eq(prefix[i], log[i]):
            return False
    return True


def _log_core(old, a, b):
    if _extends(a, b):
        return b
    if _extends(b, a):
        return a
    n = 0 if old is MISSING else len(old)
    key = _merge.encoded_key
    counts = {}
    entries = {}
    for side in (a, b):
        seen = {}
        for i in range(n, len(side)):
            e = side[i]
            k = key(e)
            seen[k] = seen.get(k, 0) + 1
            entries[k] = e
        for k in seen:
            if seen[k] > counts.get(k, 0):
                counts[k] = seen[k]
    new = []
    for k in counts:
        for _ in range(counts[k]):
            new.append((entries[k][0], k))
    new.sort()
    out = [] if old is MISSING else list(old)
    for _, k in new:
        out.append(entries[k])
    return out


_log_option = _merge.option(_log_core)


def log_merge(old, a, b):
    """Merge append-only logs: the ancestor's entries, then both sides' new entries.

    New entries are sorted by ``(timestamp, CBOR encoding)``; one added identically
    on both sides is kept once; when one side extends the other the longer side is
    the result. A side that does not start with the ancestor's entries gives
    ``Conflict("log: entries removed")``; a malformed log conflicts. Absent sides
    follow ``merge.option`` (a log removed on one side and unchanged on the other
    stays removed).
    """
    for side in (old, a, b):
        if side is not MISSING and not _is_log(side):
            return Conflict("log: not a list of [timestamp, seq, payload] entries")
    base = [] if old is MISSING else old
    for side in (a, b):
        if side is not MISSING and not _extends(base, side):
            return Conflict("log: entries removed")
    return _log_option(old, a, b)


# -- set --------------------------------------------------------------------------

set_merge = _merge.set_merge


def set_make(items=()):
    """Return the canonical set of ``items``: unique, sorted by CBOR encoding."""
    index = {}
    key = _merge.encoded_key
    for item in items:
        index[key(item)] = item
    return [index[k] for k in sorted(index)]


def set_members(s):
    """Return the set's members in canonical order (``[]`` for ``MISSING``)."""
    if s is MISSING:
        return []
    return set_make(s)


def set_contains(s, item):
    """Return True when ``item`` is a member of ``s`` (type-strict, as ``values_equal``)."""
    if s is MISSING:
        return False
    eq = _merge.values_equal
    for member in s:
        if eq(member, item):
            return True
    return False


def set_add(s, item):
    """Return the set ``s`` (``MISSING`` is empty) with ``item`` added, canonical."""
    members = [] if s is MISSING else list(s)
    members.append(item)
    return set_make(members)


def set_remove(s, item):
    """Return the set ``s`` (``MISSING`` is empty) without ``item``, canonical."""
    if s is MISSING:
        return []
    eq = _merge.values_equal
    return set_make([m for m in s if not eq(m, item)])
