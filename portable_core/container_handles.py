"""Containers on a branch: ``Counter``, ``Register``, ``Log`` and ``Set`` handles.

Each handle owns one path of a branch. It registers the container's merge function
for that path in the repo's merge policy, so branch merges combine concurrent
updates the container's way (see portable_core/containers.py), and each update is a
transaction with the "merge" strategy: two writers updating the same container at
the same time both land.

    boots = Counter(repo.main(), "stats/boots")
    boots.inc()
    boots.read()          # -> 1
"""

from portable_core import containers
from portable_core.conflict import MISSING


class _Handle:
    merge_function = None

    def __init__(self, branch, path):
        self.branch = branch
        self.path = path
        branch.repo.merge_policy.set_rule(path, self.merge_function)

    def _value(self):
        return self.branch.find(self.path, MISSING)

    def _update(self, fn, message):
        path = self.path

        def body(txn):
            new = fn(txn.find(path, MISSING))
            txn.set(path, new)
            return new

        return self.branch.transaction(body, "merge", message)[0]


class Counter(_Handle):
    """A 64-bit counter: concurrent increments add up."""

    merge_function = staticmethod(containers.counter_merge)

    def read(self):
        """Return the counter's value (0 when never set)."""
        return containers.counter_read(self._value())

    def inc(self, by=1, message=None):
        """Add ``by`` and commit; return the new value."""
        return self._update(lambda v: containers.counter_inc(v, by),
                            message or "counter %s += %d" % (self.path, by))

    def dec(self, by=1, message=None):
        """Subtract ``by`` and commit; return the new value."""
        return self._update(lambda v: containers.counter_dec(v, by),
                            message or "counter %s -= %d" % (self.path, by))


class Register(_Handle):
    """A last-writer-wins register: of concurrent writes the larger timestamp wins."""

    merge_function = staticmethod(containers.lww_merge)

    def read(self, default=None):
        """Return the register's value, or ``default``."""
        v = self._value()
        return default if v is MISSING else containers.lww_read(v, default)

    def write(self, timestamp, value, message=None):
        """Store ``value`` with ``timestamp`` (an int: host time or device counter)."""
        reg = containers.lww_make(timestamp, value)
        self._update(lambda v: reg, message or "register %s" % self.path)


class Log(_Handle):
    """An append-only log: concurrent appends are all kept, in timestamp order."""

    merge_function = staticmethod(containers.log_merge)

    def read(self):
        """Return the payloads, oldest first."""
        return containers.log_read(self._value())

    def append(self, timestamp, payload, message=None):
        """Append ``payload`` at ``timestamp`` and commit."""
        self._update(lambda v: containers.log_append(v, timestamp, payload),
                     message or "log %s" % self.path)


class Set(_Handle):
    """A set: additions and removals from either side are both applied."""

    merge_function = staticmethod(containers.set_merge)

    def members(self):
        """Return the members, in canonical order."""
        return containers.set_members(self._value())

    def contains(self, item):
        """Return True when ``item`` is a member."""
        return containers.set_contains(self._value(), item)

    def add(self, item, message=None):
        """Add ``item`` and commit."""
        self._update(lambda v: containers.set_add(v, item), message or "set %s add" % self.path)

    def remove(self, item, message=None):
        """Remove ``item`` and commit."""
        self._update(lambda v: containers.set_remove(v, item), message or "set %s remove" % self.path)
