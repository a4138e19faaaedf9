"""Commits: a root tree, sorted parents, info (author, message, date) and a height.

The body of a commit object (docs/SPEC.md) is the CBOR array
``[tree_id, [parent_id, ...], {"author": str, "date": int, "message": str}, height]``
with parents sorted bytewise. ``height`` is 1 + the largest parent height (1 for a
root commit): history walks visit commits in decreasing height, which lets LCA and
last-modified searches stop as soon as the answer is known instead of loading the
whole history. ``date`` is seconds since the Unix epoch when the writer has a clock,
or a logical counter (1 + the parents' largest date) when it has none.
"""

from portable_core import objects as _objects
from portable_core.objects import TAG_COMMIT, ObjectError


class Commit:
    """A decoded commit. ``id`` is its object id (32 bytes)."""

    def __init__(self, tree, parents, author, message, date, height, oid=None):
        self.tree = tree
        self.parents = sorted(parents)
        self.author = author
        self.message = message
        self.date = date
        self.height = height
        self.id = oid

    def body(self):
        """Return the commit's CBOR body value."""
        info = {"author": self.author, "date": self.date, "message": self.message}
        return [self.tree, self.parents, info, self.height]

    def raw(self):
        """Return the commit's raw object bytes."""
        return _objects.encode_object(TAG_COMMIT, self.body())

    def __repr__(self):
        return "Commit(%s, %r)" % (
            "?" if self.id is None else _objects.to_hex(self.id)[:12],
            self.message,
        )


def _check(cond, what):
    if not cond:
        raise ObjectError("bad commit: " + what)


def decode_commit(raw, oid=None):
    """Return the Commit held in raw object bytes; ObjectError if they are not one."""
    tag, body = _objects.decode_object(raw)
    _check(tag == TAG_COMMIT, "not a commit object")
    _check(isinstance(body, list) and len(body) == 4, "body is not a 4-element array")
    tree, parents, info, height = body
    _check(isinstance(tree, bytes) and len(tree) == 32, "tree id")
    _check(isinstance(parents, list), "parents")
    for p in parents:
        _check(isinstance(p, bytes) and len(p) == 32, "parent id")
    _check(parents == sorted(parents), "parents not sorted")
    _check(isinstance(info, dict), "info")
    author = info.get("author")
    message = info.get("message")
    date = info.get("date")
    if not isinstance(author, str) or not isinstance(message, str) or not isinstance(date, int) \
            or isinstance(date, bool):
        _check(isinstance(author, str), "author is %s, not a str" % type(author).__name__)
        _check(isinstance(message, str), "message is %s, not a str" % type(message).__name__)
        _check(False, "date is %s, not an int" % type(date).__name__)
    _check(isinstance(height, int) and height >= 1, "height")
    return Commit(tree, parents, author, message, date, height, oid)


class CommitNotFound(KeyError):
    """A commit id that is not in the object store."""


def read_commit(store, oid):
    """Load commit ``oid`` from the ObjectStore ``store``; CommitNotFound if absent,
    ObjectError naming the id and the faulty field if it is not a valid commit."""
    raw = store.get(oid)
    if raw is None:
        raise CommitNotFound("no commit %s" % _objects.to_hex(oid))
    try:
        return decode_commit(raw, oid)
    except ObjectError as exc:
        raise ObjectError("commit %s: %s" % (_objects.to_hex(oid), exc))


def write_commit(store, tree, parent_commits, author, message, date):
    """Create, store and return a commit over ``tree`` with ``parent_commits`` (Commits)."""
    height = 1
    for p in parent_commits:
        if p.height + 1 > height:
            height = p.height + 1
    commit = Commit(tree, [p.id for p in parent_commits], author, message, date, height)
    commit.id = store.add(commit.raw())
    return commit
