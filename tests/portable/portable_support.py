"""Helpers shared by the portable test modules (imported as ``portable_support``).

Portable itself: on the firmware the harness installs it in ``sys.modules`` before
a test module that imports it (tests/harness/runtimes.py).
"""

from portable_core.memstore import MemObjectStore, MemRefStore
from portable_core.store import Repo


def raises(exc_type, fn, *args, **kwargs):
    """Call ``fn(*args, **kwargs)``; return the ``exc_type`` it raises, fail if it
    raises none."""
    try:
        fn(*args, **kwargs)
    except exc_type as exc:
        return exc
    raise AssertionError("%r did not raise %s" % (fn, exc_type.__name__))


def expect_conflict(result, reason=None, path=None):
    """Assert ``result`` is a merge Conflict (with ``reason`` / ``path`` if given)."""
    from portable_core.conflict import is_conflict

    assert is_conflict(result), result
    if reason is not None:
        assert result.reason == reason, result
    if path is not None:
        assert result.path == path, result
    return result


def read_block(dev, block, offset, n):
    """Read ``n`` bytes at ``offset`` of ``block`` from a block device."""
    buf = bytearray(n)
    dev.readblocks(block, buf, offset)
    return bytes(buf)


def ticking_clock(start=0):
    """Return a clock that says start+1, start+2, ... on each call."""
    state = [start]

    def clock():
        state[0] += 1
        return state[0]

    return clock


def repo_on(store):
    """Return a Repo on a block store's ``objects`` and ``refs`` (a FlashStore),
    author "t", dates 1001, 1002, ... (the flash test modules' repo)."""
    return Repo(store.objects, store.refs, author="t", clock=ticking_clock(1000))


def new_repo(policy=None, clock=None, author="test"):
    """Return a Repo on fresh in-memory stores (``clock=None``: logical dates)."""
    return Repo(MemObjectStore(), MemRefStore(), author=author, clock=clock, merge_policy=policy)
