"""The methods of ``Repo`` and ``Branch`` (portable_core.store) that reading and
writing values never needs: merges, history, heads, watches, transactions, ...,
and ``Transaction``. Importing this module adds them to the two classes; store.py
imports it on the first use of any of them (at its own import on CPython), so a
device that only gets and sets never spends heap on them (docs/DESIGN.md "Memory").
"""

from portable_core import store as _store
from portable_core.commit import read_commit
from portable_core.conflict import MISSING, MergeConflictError, is_conflict
from portable_core.objects import TAG_COMMIT, resolve_prefix, to_hex
from portable_core.store import (
    FastForwardError,
    InvalidBranchName,
    StoreError,
    TestFailed,
    TooManyRetries,
    _path_text,
    check_branch_name,
)
from portable_core.tree import Tree


class RepoMethods:
    """The rarely used methods of ``Repo``."""

    def branches(self):
        """Return the sorted names of the existing branches."""
        return [r[6:] for r in self.refs.list() if r.startswith("heads/")]

    def remove_branch(self, name):
        """Delete branch ``name`` (its commits stay in the object store)."""
        ref = "heads/" + check_branch_name(name)
        old = self.refs.get(ref)
        if old is None:
            return
        while not self.refs.test_and_set(ref, old, None):
            old = self.refs.get(ref)
            if old is None:
                return
        self._notify(name, old, None)

    def resolve(self, ref):
        """Return the commit id named by ``ref``: 32-byte id, a branch name, or a
        (unique, >= 4 digits) hex prefix. StoreError if it names nothing."""
        if isinstance(ref, (bytes, bytearray)) and len(ref) == 32:
            return bytes(ref)
        if isinstance(ref, str):
            try:
                head = self.refs.get("heads/" + check_branch_name(ref))
            except InvalidBranchName:
                head = None
            if head is not None:
                return head
            try:
                return resolve_prefix(self.objects, ref, TAG_COMMIT)
            except ValueError as exc:
                raise StoreError("%r is neither a branch nor a commit: %s" % (ref, exc))
        raise StoreError("cannot resolve %r to a commit" % (ref,))

    def commit(self, ref):
        """Return the Commit named by ``ref`` (see ``resolve``)."""
        return read_commit(self.objects, self.resolve(ref))

    def tree_of(self, ref):
        """Return the root Tree of the commit named by ``ref``."""
        return Tree.of_node(self.objects, self.commit(ref).tree)

    def diff(self, a, b):
        """Return the diff from commit ``a`` to commit ``b`` (either may be None: empty):
        a list of ``(path, change, old_value, new_value)``."""
        ta = Tree.empty() if a is None else Tree.of_node(self.objects, self.commit(a).tree)
        tb = Tree.empty() if b is None else Tree.of_node(self.objects, self.commit(b).tree)
        return ta.diff(tb)

    def watch_all(self, callback):
        """Call ``callback(event)`` after every head change of any branch."""
        return self.watchers.add(None, callback)

    def unwatch(self, watch):
        """Stop a watch returned by a ``watch`` call."""
        self.watchers.remove(watch)

    def _merge_base(self, ids, depth=0):
        """Return the Tree to use as the common ancestor of a merge of commits
        whose lowest common ancestors are ``ids`` (several: merged recursively)."""
        from portable_core import history
        from portable_core.tree import merge_trees

        if not ids:
            return Tree.empty()
        base = Tree.of_node(self.objects, read_commit(self.objects, ids[0]).tree)
        for other in ids[1:]:
            if depth > 8:
                raise StoreError("merge: too many nested common ancestors")
            inner = self._merge_base(history.lcas(self.objects, ids[0], other), depth + 1)
            other_tree = Tree.of_node(self.objects, read_commit(self.objects, other).tree)
            merged = merge_trees(self.objects, inner, base, other_tree, self.merge_policy.for_path)
            if is_conflict(merged):
                raise MergeConflictError(merged)
            base = merged
        return base

    def merge_commits(self, a, b, max_depth=None):
        """Return the merged Tree of commits ``a`` and ``b``; MergeConflictError if
        some path conflicts."""
        from portable_core import history
        from portable_core.tree import merge_trees

        ids = history.lcas(self.objects, a, b, max_depth)
        base = self._merge_base(ids)
        ta = Tree.of_node(self.objects, read_commit(self.objects, a).tree)
        tb = Tree.of_node(self.objects, read_commit(self.objects, b).tree)
        merged = merge_trees(self.objects, base, ta, tb, self.merge_policy.for_path)
        if is_conflict(merged):
            raise MergeConflictError(merged)
        return merged


class Transaction:
    """A view of a branch's tree inside ``Branch.transaction``: reads are recorded
    (path -> what was seen), writes are applied to a private tree."""

    def __init__(self, tree):
        self.base = tree
        self.tree = tree
        self.reads = {}
        self.writes = {}

    def _seen(self, path):
        from portable_core.tree import observe

        key = _path_text(path)
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
        self.writes[_path_text(path)] = True

    def remove(self, path):
        """Remove ``path`` in the transaction."""
        self.tree = self.tree.remove(path)
        self.writes[_path_text(path)] = True

    def set_tree(self, path, tree):
        """Put the subtree ``tree`` at ``path`` (an empty tree removes it)."""
        self.tree = self.tree.add_tree(path, tree)
        self.writes[_path_text(path)] = True


class BranchMethods:
    """The rarely used methods of ``Branch``."""

    def mem_tree(self, path):
        """Return True when a subtree is at ``path``."""
        return self.tree().mem_tree(path)

    def kind(self, path):
        """Return "contents", "node" or None for ``path``."""
        return self.tree().kind(path)

    def find_tree(self, path):
        """Return the subtree at ``path``, or None."""
        return self.tree().find_tree(path)

    def set_tree(self, path, tree, message=None, author=None):
        """Put the Tree ``tree`` at ``path`` in a new commit; return the head id."""
        return self._write(lambda t: t.add_tree(path, tree),
                           message or "set tree %s" % _path_text(path), author)

    def test_and_set(self, path, test, set, message=None, author=None):
        """If the value at ``path`` is ``test`` (MISSING: absent), store ``set``
        (MISSING: remove) in a new commit and return the head id; otherwise raise
        TestFailed carrying what was found."""
        from portable_core.tree import same_observation


        def update(tree):
            found = tree.find(path)
            if not same_observation(found, test):
                raise TestFailed(_path_text(path), found)
            return tree.remove(path) if set is MISSING else tree.add(path, set)

        return self._write(update, message or "test and set %s" % _path_text(path), author)

    def merge(self, path, value, old=MISSING, message=None, author=None):
        """Merge ``value`` into the value at ``path`` with ``old`` as their common
        ancestor, using the repo's merge function for ``path``; MergeConflictError
        if they conflict (nothing changes)."""
        key = _path_text(path)
        f = self.repo.merge_policy.for_path(key)

        def update(tree):
            merged = f(old, tree.find(path), value)
            if is_conflict(merged):
                raise MergeConflictError(merged.at(key))
            return tree.remove(path) if merged is MISSING else tree.add(path, merged)

        return self._write(update, message or "merge %s" % key, author)

    def transaction(self, fn, strategy="set", message=None, author=None, retries=None):
        """Run ``fn(txn)`` on a snapshot of the head tree and commit its writes.

        ``strategy``: "set" (last writer wins: the writes are applied on the newest
        head), "test_and_set" (if anything the transaction read or wrote changed
        meanwhile, raise TestFailed with what is there now), or "merge" (3-way merge
        of the snapshot, the newest head and the transaction's tree; a conflict
        raises MergeConflictError). Returns ``(fn's result, head id)``.
        """
        from portable_core.tree import merge_trees, observe, same_observation

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
        key = _path_text(path)

        def body(txn):
            new = fn(txn.find_tree(key))
            txn.set_tree(key, Tree.empty() if new is None else new)

        return self.transaction(body, strategy, message or "with_tree %s" % key, author, retries)[1]

    def set_head(self, commit):
        """Point the branch at ``commit`` (id, prefix or branch name), whatever it held."""
        cid = self.repo.resolve(commit)
        self.repo.commit(cid)
        while True:
            old = self.head()
            if self.repo._update_head(self.name, old, cid):
                return cid

    def revert(self, commit):
        """Reset the branch to ``commit``: the same as ``set_head``."""
        return self.set_head(commit)

    def test_and_set_head(self, test, set):
        """If the head is ``test`` (None: no branch), make it ``set`` (None: delete);
        return True when done."""
        return self.repo._update_head(self.name, test, set)

    def fast_forward(self, commit, max_depth=None):
        """Move the head forward to ``commit``, which must descend from it.

        FastForwardError("no_change") if it is the head already, ("rejected") if it
        does not descend from the head, ("max_depth_reached") if proving it would
        need more than ``max_depth`` steps.
        """
        from portable_core import history

        cid = self.repo.resolve(commit)
        head = self.head()
        if head == cid:
            raise FastForwardError("no_change")
        if head is not None:
            objects = self.repo.objects
            if not history.is_ancestor(objects, head, cid):
                raise FastForwardError("rejected")
            if max_depth is not None and history.distance(objects, head, cid, max_depth) is None:
                raise FastForwardError("max_depth_reached")
        if not self.repo._update_head(self.name, head, cid):
            raise FastForwardError("rejected")
        return cid

    def clone(self, name):
        """Create branch ``name`` at this branch's head and return it."""
        other = self.repo.branch(name)
        head = self.head()
        if head is not None:
            other.set_head(head)
        return other

    def merge_with_commit(self, commit, message=None, author=None, max_depth=None):
        """Merge ``commit`` into this branch: fast-forward when possible, else a merge
        commit with both parents. MergeConflictError (nothing changes) on conflict.
        Returns the new head id."""
        from portable_core import history

        repo = self.repo
        cid = repo.resolve(commit)
        for _ in range(repo.retries + 1):
            head = self.head()
            if head is None or history.is_ancestor(repo.objects, head, cid):
                if head == cid or repo._update_head(self.name, head, cid):
                    return cid
                continue
            if history.is_ancestor(repo.objects, cid, head):
                return head
            merged = repo.merge_commits(head, cid, max_depth)
            parents = [read_commit(repo.objects, head), read_commit(repo.objects, cid)]
            text = message or "merge %s into %s" % (to_hex(cid)[:12], self.name)
            new = repo.make_commit(merged, parents, text, author)
            if repo._update_head(self.name, head, new.id):
                return new.id
        raise TooManyRetries("branch %s kept moving during a merge" % self.name)

    def merge_with_branch(self, other, message=None, author=None, max_depth=None):
        """Merge the head of branch ``other`` into this branch (see merge_with_commit)."""
        head = self.repo.branch(other).head()
        if head is None:
            raise StoreError("branch %s does not exist" % other)
        return self.merge_with_commit(head, message or "merge %s into %s" % (other, self.name),
                                      author, max_depth)

    def merge_into(self, into, message=None, author=None, max_depth=None):
        """Merge this branch into branch ``into``; return ``into``'s new head."""
        return self.repo.branch(into).merge_with_branch(self.name, message, author, max_depth)

    def log(self, depth=None, path=None):
        """Yield the commits of this branch's history, newest first (see history.log)."""
        from portable_core import history

        return history.log(self.repo.objects, self.head(), depth, path)

    def last_modified(self, path, n=1, depth=None):
        """Return the ids of the (up to ``n``) commits that last changed ``path``,
        searching at most ``depth`` parent links below the head (history.last_modified)."""
        from portable_core import history

        return history.last_modified(self.repo.objects, self.head(), path, n, depth)

    def lcas(self, other, max_depth=None, n=None):
        """Return the lowest common ancestors of this head and ``other`` (a commit)."""
        from portable_core import history

        return history.lcas(self.repo.objects, self.head(), self.repo.resolve(other), max_depth, n)

    def watch(self, callback):
        """Call ``callback(event)`` after each change of this branch's head."""
        return self.repo.watchers.add(self.name, callback)

    def watch_key(self, path, callback):
        """Call ``callback(event)`` when a head change touches ``path`` (value or subtree)."""
        return self.repo.watchers.add(self.name, callback, _path_text(path))

    def unwatch(self, watch):
        """Stop ``watch``."""
        self.repo.watchers.remove(watch)


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


def _attach():
    # add the methods above to Repo and Branch
    for cls, methods in ((_store.Repo, RepoMethods), (_store.Branch, BranchMethods)):
        for name in dir(methods):
            if name[:2] != "__":
                setattr(cls, name, getattr(methods, name))


_attach()
