"""Watches: callbacks told about branch head changes, with the diff they carry.

``Watchers`` belongs to a repo. After every head change the repo calls
``notify(branch, old_head, new_head, diff_fn)``; each watcher whose branch (and key,
for a key watch) is concerned receives an ``Event``. Callbacks never run
concurrently: a notification raised from inside a callback (a callback that writes
to the store) is queued and delivered after the current one. A callback that raises
is reported on stderr and does not stop the store or the other watchers.
"""

import sys

from portable_core.compat import print_exception


class Event:
    """What a watcher receives: ``branch``, ``old`` and ``new`` head ids (None when
    the branch did not exist / was removed) and ``diff``: a list of
    ``(path, change, old_value, new_value)`` with change "added", "removed" or
    "updated" (restricted to the watched key for key watches)."""

    def __init__(self, branch, old, new, diff):
        self.branch = branch
        self.old = old
        self.new = new
        self.diff = diff

    def __repr__(self):
        return "Event(%r, %d changes)" % (self.branch, len(self.diff))


class Watch:
    """A registered callback; pass it to ``unwatch``."""

    def __init__(self, branch, key, callback):
        self.branch = branch
        self.key = key
        self.callback = callback


def _under(path, key):
    return key == "" or path == key or path.startswith(key + "/")


class Watchers:
    """The watch registry of one repo."""

    def __init__(self):
        self._watches = []
        self._queue = []
        self._delivering = False
        self.errors = 0

    def add(self, branch, callback, key=None):
        """Register ``callback(event)`` for ``branch`` (None: every branch), optionally
        only for changes under the path ``key``; return the Watch."""
        w = Watch(branch, key, callback)
        self._watches.append(w)
        return w

    def remove(self, watch):
        """Unregister ``watch``; unknown watches are ignored."""
        if watch in self._watches:
            self._watches.remove(watch)

    def __len__(self):
        return len(self._watches)

    def notify(self, branch, old, new, diff_fn):
        """Deliver a head change of ``branch`` from ``old`` to ``new``.

        ``diff_fn()`` computes the full diff; it is called at most once, and only if
        some watcher is concerned.
        """
        concerned = [w for w in self._watches if w.branch is None or w.branch == branch]
        if not concerned:
            return
        self._queue.append((concerned, branch, old, new, diff_fn))
        if self._delivering:
            return
        self._delivering = True
        try:
            while self._queue:
                concerned, branch, old, new, diff_fn = self._queue.pop(0)
                diff = diff_fn()
                for w in concerned:
                    if w not in self._watches:
                        continue  # unwatched by an earlier callback
                    mine = diff
                    if w.key is not None:
                        mine = [d for d in diff if _under(d[0], w.key)]
                        if not mine:
                            continue
                    try:
                        w.callback(Event(branch, old, new, mine))
                    except Exception as exc:
                        self.errors += 1
                        sys.stderr.write("sprig: watch callback failed:\n")
                        print_exception(exc, sys.stderr)
        finally:
            self._delivering = False
