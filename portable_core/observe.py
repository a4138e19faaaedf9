"""What a path holds, as transactions and history compare it: ``observe`` gives a
value, a ``Subtree`` (by id) or MISSING; ``same_observation`` compares two."""

from portable_core.missing import MISSING
from portable_core.objects import to_hex
from portable_core.paths import parse_path


class Subtree:
    """What ``observe`` reports for a path holding a subtree: its id."""

    def __init__(self, oid):
        self.id = oid

    def __eq__(self, other):
        return isinstance(other, Subtree) and other.id == self.id

    def __repr__(self):
        return "Subtree(%s)" % to_hex(self.id)[:12]


def observe(tree, path):
    """Return what ``path`` holds in ``tree``: its value, a ``Subtree`` (the root
    path always is one) or MISSING. Loads only the nodes on the path."""
    if not parse_path(path):
        return Subtree(tree.hash())
    sub = tree.find_tree(path)
    if sub is not None:
        return Subtree(sub.hash())
    return tree.find(path)


def same_observation(a, b):
    """Return True when two ``observe`` results are the same (type-strict values)."""
    if isinstance(a, Subtree) or isinstance(b, Subtree):
        return a == b
    if a is MISSING or b is MISSING:
        return a is b
    from portable_core.merge import values_equal

    return values_equal(a, b)
