"""The store API (Irmin's): a repo of branches, each a head commit over a tree.

    repo = Repo(MemObjectStore(), MemRefStore())
    main = repo.branch("main")
    main.set("net/ssid", "lab", message="set ssid")
    main.get("net/ssid")                       # -> "lab"

Every write makes a commit with info (author, message, date) and moves the branch
head with the ref store's atomic ``test_and_set``, retrying (bounded) when another
writer moved it first. Errors are exceptions carrying what was found:
``TestFailed.found``, ``MergeConflictError.conflict``, ``FastForwardError.reason``.
A failed or conflicted write changes nothing.

Ref names: a branch ``b`` is the ref ``heads/b``.
"""

from portable_core.commit import read_commit, write_commit
from portable_core.conflict import MISSING, MergeConflictError, is_conflict
from portable_core.objects import TAG_COMMIT, resolve_prefix, to_hex
from portable_core.tree import Tree

# history, merge (MergePolicy, merge_trees) and watch are imported where they are
# used: a device that only reads and writes never loads them (their functions and
# classes would take heap, see docs/DESIGN.md "Memory").

DEFAULT_BRANCH = "main"
DEFAULT_RETRIES = 13
_BRANCH_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_./"


class StoreError(Exception):
    """A store operation could not be done as asked."""


class InvalidBranchName(ValueError):
    """A branch name outside ``[A-Za-z0-9-_./]`` or not a valid Git ref component."""


class WriteError(StoreError):
    """A write was refused; nothing changed."""


class TestFailed(WriteError):
    """A test-and-set found something else; ``found`` holds it (MISSING: absent)."""

    __test__ = False  # not a pytest test class

    def __init__(self, path, found):
        super().__init__("test_and_set at %r failed: found %r" % (path, found))
        self.path = path
        self.found = found


class TooManyRetries(WriteError):
    """The head kept moving under a write for more than the allowed retries."""


class FastForwardError(StoreError):
    """A fast-forward was refused; ``reason`` is "no_change", "rejected" or
    "max_depth_reached"."""

    def __init__(self, reason):
        super().__init__("fast-forward refused: " + reason.replace("_", " "))
        self.reason = reason


def check_branch_name(name):
    """Return ``name`` if it is a valid branch name; InvalidBranchName otherwise."""
    if not isinstance(name, str) or not name:
        raise InvalidBranchName("a branch name is a non-empty string")
    for ch in name:
        if ch not in _BRANCH_CHARS:
            raise InvalidBranchName("branch name %r: only A-Z a-z 0-9 - _ . / are allowed" % name)
    for part in name.split("/"):
        if not part or part.startswith(".") or part.endswith(".lock"):
            raise InvalidBranchName(
                "branch name %r: empty component, or one starting with '.' or ending in '.lock'" % name
            )
    if ".." in name or name.endswith("."):
        raise InvalidBranchName("branch name %r: no '..' and no trailing '.'" % name)
    return name


def _default_clock():
    try:
        import time

        return int(time.time())
    except (ImportError, AttributeError):
        return None


def _path_text(path):
    if isinstance(path, str):
        return path.strip("/")
    return "/".join(path)


class Repo:
    """A repository: an object store, a ref store, a merge policy and watchers.

    ``clock()`` returns the date of new commits (seconds since the epoch) or None
    when the host has no clock: dates are then a logical counter (1 + the largest
    parent date). ``merge_policy`` (merge.MergePolicy) chooses the merge function
    for each path; the default merges with ``merge.default``.
    """

    def __init__(self, objects, refs, author="sprig", clock=_default_clock,
                 merge_policy=None, retries=DEFAULT_RETRIES):
        self.objects = objects
        self.refs = refs
        self.author = author
        self.clock = clock
        if merge_policy:
            self.merge_policy = merge_policy
        self.retries = retries

    _watchers = None  # the Watchers, made by the first watch

    def __getattr__(self, name):
        # ``merge_policy`` (the default one) and ``watchers`` are made on first use
        if name == "merge_policy":
            from portable_core.merge import MergePolicy

            self.merge_policy = MergePolicy()
            return self.merge_policy
        if name == "watchers":
            if self._watchers is None:
                from portable_core.watch import Watchers

                self._watchers = Watchers()
            return self._watchers
        raise AttributeError(name)

    # -- branches -----------------------------------------------------------------

    def branch(self, name=DEFAULT_BRANCH):
        """Return a handle on branch ``name`` (it need not exist yet)."""
        return Branch(self, check_branch_name(name))

    def main(self):
        """Return the handle on the default branch, ``main``."""
        return self.branch(DEFAULT_BRANCH)

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

    # -- commits ------------------------------------------------------------------

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

    def _date(self, parents):
        now = self.clock() if self.clock is not None else None
        if now is not None:
            return now
        date = 0
        for p in parents:
            if p.date > date:
                date = p.date
        return date + 1

    def make_commit(self, tree, parents, message, author=None):
        """Write ``tree`` (a Tree) and a commit over it with ``parents`` (Commits);
        return the Commit. Does not move any head."""
        tree_id = tree.write(self.objects)
        return write_commit(self.objects, tree_id, parents, author or self.author,
                            message or "", self._date(parents))

    def diff(self, a, b):
        """Return the diff from commit ``a`` to commit ``b`` (either may be None: empty):
        a list of ``(path, change, old_value, new_value)``."""
        ta = Tree.empty() if a is None else Tree.of_node(self.objects, self.commit(a).tree)
        tb = Tree.empty() if b is None else Tree.of_node(self.objects, self.commit(b).tree)
        return ta.diff(tb)

    # -- heads ---------------------------------------------------------------------

    def _update_head(self, name, old, new):
        ref = "heads/" + name
        if not self.refs.test_and_set(ref, old, new):
            return False
        self._notify(name, old, new)
        return True

    def _notify(self, name, old, new):
        if self._watchers is not None:
            self._watchers.notify(name, old, new, lambda: self.diff(old, new))

    # -- watches -------------------------------------------------------------------

    def watch_all(self, callback):
        """Call ``callback(event)`` after every head change of any branch."""
        return self.watchers.add(None, callback)

    def unwatch(self, watch):
        """Stop a watch returned by a ``watch`` call."""
        self.watchers.remove(watch)

    # -- merges ---------------------------------------------------------------------

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


class Branch:
    """A handle on one branch of a repo. Reads see the current head; writes commit."""

    def __init__(self, repo, name):
        self.repo = repo
        self.name = name

    def __repr__(self):
        return "Branch(%r)" % self.name

    # -- reading ---------------------------------------------------------------------

    def head(self):
        """Return the head commit id, or None for a branch that does not exist yet."""
        return self.repo.refs.get("heads/" + self.name)

    def head_commit(self):
        """Return the head Commit, or None."""
        head = self.head()
        return None if head is None else read_commit(self.repo.objects, head)

    def tree(self):
        """Return the root Tree at the head (the empty tree for a new branch)."""
        commit = self.head_commit()
        return Tree.empty() if commit is None else Tree.of_node(self.repo.objects, commit.tree)

    def find(self, path, default=None):
        """Return the value at ``path``, or ``default`` when there is none."""
        v = self.tree().find(path)
        return default if v is MISSING else v

    def get(self, path):
        """Return the value at ``path``; KeyError when there is none."""
        return self.tree().get(path)

    def mem(self, path):
        """Return True when a value is stored at ``path``."""
        return self.tree().mem(path)

    def mem_tree(self, path):
        """Return True when a subtree is at ``path``."""
        return self.tree().mem_tree(path)

    def kind(self, path):
        """Return "contents", "node" or None for ``path``."""
        return self.tree().kind(path)

    def list(self, path=""):
        """Return the sorted ``(step, kind)`` pairs directly under ``path``."""
        return self.tree().list(path)

    def find_tree(self, path):
        """Return the subtree at ``path``, or None."""
        return self.tree().find_tree(path)

    # -- writing ---------------------------------------------------------------------

    def _write(self, update, message, author, retries=None):
        """Apply ``update(tree) -> tree`` to the head tree and commit, retrying when
        the head moves. Returns the new head id (the old one if nothing changed)."""
        repo = self.repo
        for _ in range((repo.retries if retries is None else retries) + 1):
            head = self.head()
            parent = None if head is None else read_commit(repo.objects, head)
            base = Tree.empty() if parent is None else Tree.of_node(repo.objects, parent.tree)
            new_tree = update(base)
            if parent is not None and new_tree.hash() == parent.tree:
                return head
            commit = repo.make_commit(new_tree, [] if parent is None else [parent], message, author)
            if repo._update_head(self.name, head, commit.id):
                return commit.id
        raise TooManyRetries("branch %s kept moving: gave up after %d retries" % (self.name, repo.retries))

    def set(self, path, value, message=None, author=None):
        """Store ``value`` at ``path`` in a new commit; return the head id."""
        return self._write(lambda t: t.add(path, value),
                           message or "set %s" % _path_text(path), author)

    def remove(self, path, message=None, author=None):
        """Remove ``path`` (value or subtree) in a new commit; return the head id."""
        return self._write(lambda t: t.remove(path),
                           message or "remove %s" % _path_text(path), author)

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

    # -- heads -------------------------------------------------------------------------

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

    # -- history ---------------------------------------------------------------------

    def log(self, depth=None, path=None):
        """Yield the commits of this branch's history, newest first (see history.log)."""
        from portable_core import history

        return history.log(self.repo.objects, self.head(), depth, path)

    def last_modified(self, path, n=1):
        """Return the ids of the (up to ``n``) commits that last changed ``path``."""
        from portable_core import history

        return history.last_modified(self.repo.objects, self.head(), path, n)

    def lcas(self, other, max_depth=None, n=None):
        """Return the lowest common ancestors of this head and ``other`` (a commit)."""
        from portable_core import history

        return history.lcas(self.repo.objects, self.head(), self.repo.resolve(other), max_depth, n)

    # -- watches ---------------------------------------------------------------------

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
