"""Transactions on a branch: ``Transaction`` (the view a transaction function gets)
and the bodies of ``Branch.transaction``, ``with_tree`` and ``test_and_set``
(portable_core.store's thin methods import this module on first call). Each function
takes the Branch as ``self``, as the method does."""

from portable_core.conflict import MISSING, MergeConflictError, is_conflict
from portable_core.observe import observe, same_observation
from portable_core.paths import path_text
from portable_core.store_errors import TestFailed
from portable_core.tree import Tree
from portable_core.tree_merge import merge_trees


class Transaction:
    """A view of a branch's tree inside ``Branch.transaction``: reads are recorded
    (path -> what was seen), writes are applied to a private tree."""

    def __init__(self, tree):
        self.base = tree
        self.tree = tree
        self.reads = {}
        self.writes = {}

    def _seen(self, path):
        key = path_text(path)
        if key not in self.reads and key not in self.writes:
            self.reads[key] = observe(self.base, key)

    def find(self, path, default=None):
        """Return the value at ``path`` or ``default``."""
        self._seen(path)
        v = self.tree.find(path)
        return default if v is MISSING else v

    def get(self, path):
        """Return the value at ``path``; KeyError if absent."""
        self._seen(path)
        return self.tree.get(path)

    def mem(self, path):
        """Return True when a value is at ``path``."""
        self._seen(path)
        return self.tree.mem(path)

    def list(self, path=""):
        """Return the sorted ``(step, kind)`` pairs under ``path``."""
        self._seen(path)
        return self.tree.list(path)

    def find_tree(self, path):
        """Return the subtree at ``path`` or None."""
        self._seen(path)
        return self.tree.find_tree(path)

    def set(self, path, value):
        """Set ``path`` to ``value`` in the transaction."""
        self.tree = self.tree.add(path, value)
        self.writes[path_text(path)] = True

    def remove(self, path):
        """Remove ``path`` in the transaction."""
        self.tree = self.tree.remove(path)
        self.writes[path_text(path)] = True

    def set_tree(self, path, tree):
        """Put the subtree ``tree`` at ``path`` (an empty tree removes it)."""
        self.tree = self.tree.add_tree(path, tree)
        self.writes[path_text(path)] = True


def test_and_set(self, path, test, set, message=None, author=None):
    """If the value at ``path`` is ``test`` (MISSING: absent), store ``set``
    (MISSING: remove) in a new commit and return the head id; otherwise raise
    TestFailed carrying what was found."""

    def update(tree):
        found = tree.find(path)
        if not same_observation(found, test):
            raise TestFailed(path_text(path), found)
        return tree.remove(path) if set is MISSING else tree.add(path, set)

    return self._write(update, message or "test and set %s" % path_text(path), author)


def transaction(self, fn, strategy="set", message=None, author=None, retries=None):
    """Run ``fn(txn)`` on a snapshot of the head tree and commit its writes.

    ``strategy``: "set" (last writer wins: the writes are applied on the newest
    head), "test_and_set" (if anything the transaction read or wrote changed
    meanwhile, raise TestFailed with what is there now), or "merge" (3-way merge
    of the snapshot, the newest head and the transaction's tree; a conflict
    raises MergeConflictError). Returns ``(fn's result, head id)``.
    """
    if strategy not in ("set", "test_and_set", "merge"):
        raise ValueError("strategy must be set, test_and_set or merge, not %r" % strategy)
    repo = self.repo
    snapshot_head = self.head()
    txn = Transaction(self.tree())
    result = fn(txn)
    if not txn.writes:
        return result, snapshot_head

    def update(tree):
        if strategy == "set":
            return _replay(tree, txn)
        if strategy == "test_and_set":
            for key in list(txn.reads) + list(txn.writes):
                seen = txn.reads[key] if key in txn.reads else observe(txn.base, key)
                now = observe(tree, key)
                if not same_observation(seen, now):
                    raise TestFailed(key, now)
            return txn.tree if tree.hash() == txn.base.hash() else _replay(tree, txn)
        merged = merge_trees(repo.objects, txn.base, tree, txn.tree, repo.merge_policy.for_path)
        if is_conflict(merged):
            raise MergeConflictError(merged)
        return merged

    head = self._write(update, message or "transaction", author, retries)
    return result, head


def with_tree(self, path, fn, strategy="set", message=None, author=None, retries=None):
    """Replace the subtree at ``path`` by ``fn(subtree or None)`` (None or an empty
    tree removes it), committing with the transaction ``strategy``."""
    key = path_text(path)

    def body(txn):
        new = fn(txn.find_tree(key))
        txn.set_tree(key, Tree.empty() if new is None else new)

    return self.transaction(body, strategy, message or "with_tree %s" % key, author, retries)[1]


def _replay(tree, txn):
    """Apply a transaction's writes on ``tree`` (used when its tests passed on a
    head that moved elsewhere)."""
    out = tree
    for key in txn.writes:
        sub = txn.tree.find_tree(key) if key else txn.tree
        if sub is not None:
            out = out.add_tree(key, sub)
        else:
            v = txn.tree.find(key)
            out = out.remove(key) if v is MISSING else out.add(key, v)
    return out
