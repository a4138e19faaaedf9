"""What a merge returns when it cannot decide: a ``Conflict`` value, never an exception.

``MISSING`` stands for "no value here" (a key absent from a tree or a map), which is
different from ``None`` (a stored CBOR null).
"""

from portable_core.missing import MISSING  # noqa: F401 (re-exported)


class Conflict:
    """A merge conflict: where it happened (a path string, "" at the root) and why."""

    def __init__(self, reason, path=""):
        self.reason = reason
        self.path = path

    def at(self, path):
        """Return this conflict located at ``path`` (prefixed to any inner path)."""
        if not path:
            return self
        if self.path:
            return Conflict(self.reason, path + "/" + self.path)
        return Conflict(self.reason, path)

    def __eq__(self, other):
        return isinstance(other, Conflict) and (self.reason, self.path) == (other.reason, other.path)

    def __repr__(self):
        return "Conflict(%r, %r)" % (self.reason, self.path)

    def __str__(self):
        if self.path:
            return "conflict at %s: %s" % (self.path, self.reason)
        return "conflict: " + self.reason


def is_conflict(value):
    """Return True when ``value`` is a ``Conflict``."""
    return isinstance(value, Conflict)


class MergeConflictError(Exception):
    """Raised by store operations that cannot complete because a merge conflicted.

    ``conflict`` holds the ``Conflict`` value.
    """

    def __init__(self, conflict):
        super().__init__(str(conflict))
        self.conflict = conflict
