"""Transactions on a branch: ``Transaction`` (the view a transaction function gets)
and the bodies of ``Branch.transaction``, ``with_tree`` and ``test_and_set``
(portable_core.store's thin methods import this module on first call). Each function
takes the Branch as ``self``, as the method does."""

from portable_core.commit import read_commit
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

    def list(self, path="", offset=0, length=None):
        """Return the sorted ``(step, kind)`` pairs under ``path`` (paginated as
        Tree.list)."""
        self._seen(path)
        return self.tree.list(path, offset, length)

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


def test_and_set(self, path, test, set, message=None, author=None, parents=None):
    """If the value at ``path`` of Branch ``self`` is ``test`` (MISSING: absent),
    store ``set`` (MISSING: remove) in a new commit and return the head id;
    otherwise raise TestFailed carrying what was found (nothing changes). Other
    errors and ``parents``: as ``Branch.set``."""

    def update(tree):
        found = tree.find(path)
        if not same_observation(found, test):
            raise TestFailed(path_text(path), found)
        return tree.remove(path) if set is MISSING else tree.add(path, set)

    return self._write(update, message or "test and set %s" % path_text(path), author, None, parents)


def transaction(self, fn, strategy="test_and_set", message=None, author=None, retries=None,
                parents=None):
    """Run ``fn(txn)`` on a snapshot of the head tree of Branch ``self`` and commit
    its writes (``txn``: a Transaction). Returns ``(fn's result, head id)``; a
    transaction that writes nothing makes no commit.

    ``strategy`` (Irmin's, default "test_and_set" as in Irmin): "test_and_set" (if
    anything the transaction read or wrote changed meanwhile, TestFailed with what
    is there now; changes elsewhere are kept), "set" (last writer wins: the writes
    are applied on the newest head) or "merge" (3-way merge of the snapshot, the
    newest head and the transaction's tree; MergeConflictError on a conflict).

    ``retries``: None (the default) runs ``fn`` once, and a failed test or a merge
    conflict raises at once; an int ``n`` re-runs ``fn`` on the new head after
    such a failure, up to ``n`` times (Irmin's retries), then raises the last
    error; it also bounds the commits retried when the head moves (else the
    repo's ``retries``: TooManyRetries). ``parents``: as ``Branch.set``.
    ValueError for an unknown strategy; errors raised by ``fn`` propagate and
    nothing is written; a failed transaction changes nothing.
    """
    if strategy not in ("set", "test_and_set", "merge"):
        raise ValueError("strategy must be set, test_and_set or merge, not %r" % strategy)
    repo = self.repo
    attempts = 1 if retries is None else retries + 1
    for attempt in range(attempts):
        snapshot_head = self.head()
        base = Tree.empty() if snapshot_head is None else Tree.of_node(
            repo.objects, read_commit(repo.objects, snapshot_head).tree)
        txn = Transaction(base)
        base = None
        result = fn(txn)
        if not txn.writes:
            return result, snapshot_head
        try:
            head = self._write(_updater(repo, txn, strategy), message or "transaction", author,
                               retries, parents)
        except (TestFailed, MergeConflictError):
            if attempt + 1 >= attempts:
                raise
            continue
        return result, head


def _updater(repo, txn, strategy):
    # the update applying ``txn`` to the newest head's tree with ``strategy``
    def update(tree):
        if strategy != "merge" and tree.hash() == txn.base.hash():
            return txn.tree  # the head did not move: nothing to test or replay
        if strategy == "set":
            return _replay(tree, txn)
        if strategy == "test_and_set":
            for key in list(txn.reads) + list(txn.writes):
                seen = txn.reads[key] if key in txn.reads else observe(txn.base, key)
                now = observe(tree, key)
                if not same_observation(seen, now):
                    raise TestFailed(key, now)
            return _replay(tree, txn)
        merged = merge_trees(repo.objects, txn.base, tree, txn.tree, repo.merge_policy.for_path)
        if is_conflict(merged):
            raise MergeConflictError(merged)
        return merged

    return update


def with_tree(self, path, fn, strategy="test_and_set", message=None, author=None, retries=None,
              parents=None):
    """Replace the subtree at ``path`` of Branch ``self`` by ``fn(subtree or None)``
    (None or an empty tree removes it), committing with the transaction
    ``strategy`` (default "test_and_set", as Irmin's: a concurrent change of that
    subtree is never overwritten) and ``retries`` (an int: ``fn`` re-runs on the
    new head after a failed test or a conflict, up to that many times). Returns
    the head id. Errors: as ``transaction``."""
    key = path_text(path)

    def body(txn):
        new = fn(txn.find_tree(key))
        txn.set_tree(key, Tree.empty() if new is None else new)

    return transaction(self, body, strategy, message or "with_tree %s" % key, author, retries,
                       parents)[1]


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
