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

This module holds what reading and writing values needs. The other methods of
``Repo`` and ``Branch`` are thin: each imports, on its first call, the module of its
concept and calls the function there (heads.py, resolve.py, merging.py,
transactions.py, history.py, watch.py), so a device that only gets and sets never
loads them (docs/DESIGN.md "Memory"). A thin method passes its optional arguments
on as ``*args, **kw``: their defaults are written once, in the concept's function
(and a function without defaults is 16 bytes less heap on the device); its
docstring gives the full signature. The exceptions are in store_errors.py.
"""

from portable_core.commit import read_commit
from portable_core.missing import MISSING
from portable_core.paths import path_text
from portable_core.tree import Tree

DEFAULT_BRANCH = "main"


def check_branch_name(name):
    """Return ``name`` if it is a valid branch name; InvalidBranchName otherwise."""
    why = None
    if not isinstance(name, str) or not name:
        why = "a branch name is a non-empty string"
    else:
        for ch in name:
            if ch not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_./":
                why = "branch name %r: only A-Z a-z 0-9 - _ . / are allowed" % name
        for part in name.split("/"):
            if not part or part.startswith(".") or part.endswith(".lock"):
                why = "branch name %r: empty component, or one starting with '.' or ending in '.lock'" % name
        if ".." in name or name.endswith("."):
            why = "branch name %r: no '..' and no trailing '.'" % name
    if why is not None:
        from portable_core.store_errors import InvalidBranchName

        raise InvalidBranchName(why)
    return name


def _default_clock():
    try:
        import time

        return int(time.time())
    except (ImportError, AttributeError):
        return None


class Repo:
    """A repository: an object store, a ref store, a merge policy and watchers.

    ``clock()`` returns the date of new commits (seconds since the epoch) or None
    when the host has no clock: dates are then a logical counter (1 + the largest
    parent date). ``merge_policy`` (merge.MergePolicy) chooses the merge function
    for each path; the default merges with ``merge.default``. ``retries`` (13):
    how many times a write, transaction or merge is re-run when the head moves.
    """

    def __init__(self, objects, refs, author="sprig", clock=_default_clock,
                 merge_policy=None, retries=13):
        self.objects = objects
        self.refs = refs
        self.author = author
        self.clock = clock
        self._merge_policy = merge_policy
        self.retries = retries
        self._watchers = None  # the Watchers, made by the first watch

    @property
    def merge_policy(self):
        """The MergePolicy choosing each path's merge function (the default one is
        made on first use)."""
        if self._merge_policy is None:
            from portable_core.merge import MergePolicy

            self._merge_policy = MergePolicy()
        return self._merge_policy

    @merge_policy.setter
    def merge_policy(self, policy):
        self._merge_policy = policy

    @property
    def watchers(self):
        """The Watchers (watch.py) of this repo, made on first use."""
        if self._watchers is None:
            from portable_core.watch import Watchers

            self._watchers = Watchers()
        return self._watchers

    # -- branches -----------------------------------------------------------------

    def branch(self, name=DEFAULT_BRANCH):
        """Return a handle on branch ``name`` (it need not exist yet);
        InvalidBranchName if ``name`` is not a valid branch name."""
        return Branch(self, check_branch_name(name))

    def main(self):
        """Return the handle on the default branch, ``main``."""
        return self.branch(DEFAULT_BRANCH)

    def branches(self):
        """Return the sorted names of the existing branches (no error of its own)."""
        from portable_core.heads import branches

        return branches(self)

    def remove_branch(self, name):
        """Delete branch ``name`` (its commits stay in the object store); nothing
        happens if it does not exist. InvalidBranchName for a bad name."""
        from portable_core.heads import remove_branch

        return remove_branch(self, name)

    # -- commits ------------------------------------------------------------------

    def resolve(self, ref):
        """Return the commit id named by ``ref``: 32-byte id, a branch name, or a
        (unique, >= 4 digits) hex prefix. UnknownCommit (a StoreError) if it names
        no commit of the store."""
        from portable_core.resolve import resolve

        return resolve(self, ref)

    def commit(self, ref):
        """Return the Commit named by ``ref``; UnknownCommit as ``resolve``, ObjectError
        if the stored commit is malformed."""
        return read_commit(self.objects, self.resolve(ref))

    def tree_of(self, ref):
        """Return the root Tree of the commit named by ``ref`` (errors: as ``commit``)."""
        return Tree.of_node(self.objects, self.commit(ref).tree)

    def diff(self, a, b):
        """Return the diff from commit ``a`` to commit ``b`` (either may be None: empty):
        a list of ``(path, change, old_value, new_value)``. Errors: as ``commit``;
        TreeError if an object of a tree is missing or malformed."""
        ta = Tree.empty() if a is None else self.tree_of(a)
        tb = Tree.empty() if b is None else self.tree_of(b)
        return ta.diff(tb)

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
        return the Commit. Does not move any head. The tree's written nodes are
        released (``Tree.write``): it stays valid, reading them back if needed.

        InvalidInfo (store_errors, a TypeError naming the field) before anything is
        written if ``author`` or ``message`` is not a str or None, or the clock
        returns something else than an int (a finite float is truncated to whole
        seconds) or None."""
        author = author or self.author
        message = message or ""
        date = self._date(parents)
        if isinstance(date, float) and date - date == 0:  # finite: whole seconds
            date = int(date)
        bad = None
        if not isinstance(author, str):
            bad = ("author", author)
        elif not isinstance(message, str):
            bad = ("message", message)
        elif not isinstance(date, int) or isinstance(date, bool):
            bad = ("date", date)
        if bad is not None:
            from portable_core.store_errors import InvalidInfo

            raise InvalidInfo(bad[0], bad[1])
        from portable_core.commit import write_commit

        tree_id = tree.write(self.objects, True)
        return write_commit(self.objects, tree_id, parents, author, message, date)

    def merge_commits(self, a, b, *args, **kw):
        """``merge_commits(a, b, max_depth=None)``: return the merged Tree of commits
        ``a`` and ``b`` (ids); MergeConflictError if some path conflicts,
        CommitNotFound if a commit is missing, MaxDepthReached (history) past
        ``max_depth``. Writes nothing but the merged tree's objects (none)."""
        from portable_core.merging import merge_commits

        return merge_commits(self, a, b, *args, **kw)

    # -- heads and watches ---------------------------------------------------------

    def _update_head(self, name, old, new):
        ref = "heads/" + name
        if not self.refs.test_and_set(ref, old, new):
            return False
        self._notify(name, old, new)
        return True

    def _notify(self, name, old, new):
        if self._watchers is not None:
            self._watchers.notify(name, old, new, lambda: self.diff(old, new))

    def watch_all(self, callback):
        """Call ``callback(event)`` after every head change of any branch; return the
        Watch (for ``unwatch``)."""
        return self.watchers.add(None, callback)

    def unwatch(self, watch):
        """Stop a watch returned by a ``watch`` call (one already stopped: nothing)."""
        self.watchers.remove(watch)


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
        """Return the head Commit, or None; ObjectError if it is malformed."""
        head = self.head()
        return None if head is None else read_commit(self.repo.objects, head)

    def tree(self):
        """Return the root Tree at the head (the empty tree for a new branch); read
        lazily: a missing or malformed node raises TreeError when read."""
        commit = self.head_commit()
        return Tree.empty() if commit is None else Tree.of_node(self.repo.objects, commit.tree)

    def find(self, path, default=None):
        """Return the value at ``path``, or ``default`` when there is none; ValueError
        naming a bad path, TreeError for a missing or malformed object."""
        v = self.tree().find(path)
        return default if v is MISSING else v

    def get(self, path):
        """Return the value at ``path``; KeyError when there is none (other errors: as
        ``find``)."""
        return self.tree().get(path)

    def read_into(self, path, buf):
        """Copy the byte-string value at ``path`` into ``buf`` (a bytearray or
        writable memoryview) and return its length: a large value read in bounded
        RAM (see Tree.read_into)."""
        return self.tree().read_into(path, buf)

    def mem(self, path):
        """Return True when a value is stored at ``path`` (errors: as ``find``)."""
        return self.tree().mem(path)

    def mem_tree(self, path):
        """Return True when a subtree is at ``path`` (errors: as ``find``)."""
        return self.tree().mem_tree(path)

    def kind(self, path):
        """Return "contents", "node" or None for ``path`` (errors: as ``find``)."""
        return self.tree().kind(path)

    def find_tree(self, path):
        """Return the subtree at ``path``, or None (errors: as ``find``)."""
        return self.tree().find_tree(path)

    def list(self, path="", offset=0, length=None):
        """Return the sorted ``(step, kind)`` pairs directly under ``path``, from the
        ``offset``-th, at most ``length`` of them (None: all); ValueError for a bad
        path, offset or length (see Tree.list)."""
        return self.tree().list(path, offset, length)

    # -- writing ---------------------------------------------------------------------

    def _write(self, update, message, author, retries=None, parents=None):
        """Apply ``update(tree) -> tree`` to the head tree and commit, retrying when
        the head moves. Returns the new head id (the old one if nothing changed).
        ``parents`` (a list of commit ids, Irmin's ``~parents``): the new commit's
        parents instead of the head; the head's test-and-set still guards the ref.
        UnknownCommit for a parent that is not a commit, before anything is written."""
        # the edit and write code, loaded before a tree is read: on MicroPython a
        # module loaded in the middle of a commit splits the free heap the commit's
        # node buffers need (about 1.5 KiB more peak heap on a 32 KiB device)
        from portable_core import node_edit, tree_write  # noqa: F401

        repo = self.repo
        if parents is not None:
            from portable_core.resolve import parent_commits

            parents = parent_commits(repo, parents)
        if retries is None:
            retries = repo.retries
        for _ in range(retries + 1):
            head = self.head()
            parent = None if head is None else read_commit(repo.objects, head)
            new_tree = _updated(repo.objects, parent, update)
            if new_tree.is_empty() if parent is None else new_tree.hash() == parent.tree:
                return head  # nothing changed (a headless branch stays headless)
            if parents is None:
                commit = repo.make_commit(new_tree, [] if parent is None else [parent], message, author)
            else:
                commit = repo.make_commit(new_tree, parents, message, author)
            if repo._update_head(self.name, head, commit.id):
                return commit.id
        from portable_core.store_errors import TooManyRetries

        raise TooManyRetries("branch %s kept moving: gave up after %d retries" % (self.name, retries))

    def set(self, path, value, message=None, author=None, parents=None):
        """Store ``value`` at ``path`` in a new commit; return the head id (the same
        one if ``value`` is already there). ``parents``: see below.

        Errors, all raised before anything is written (the store is unchanged):
        ValueError naming the path if it is not a valid path (or is the root);
        CBORError (a ValueError) naming the path and the type of a value that has
        no CBOR encoding, or whose encoding is over ``cbor.DEFAULT_MAX_SIZE``
        bytes (what a reader accepts); InvalidInfo for an ``author``/``message``
        that is not a str (or a clock that returns no int); UnknownCommit for a
        parent that is not a commit; TooManyRetries if the head kept moving; a
        StorageError of the backend (device full, ...) leaves the head as it was.

        ``parents`` (a list of commit ids): the parents of the new commit instead of
        the head (Irmin's ``set ~parents``); the value is still set on the head's
        tree, and the head's test-and-set still guards the ref."""
        return self._write(lambda t: t.add(path, value),
                           message or "set %s" % path_text(path), author, None, parents)

    def remove(self, path, message=None, author=None, parents=None):
        """Remove ``path`` (value or subtree) in a new commit; return the head id (the
        same one when nothing is there). Errors and ``parents``: as ``set``."""
        return self._write(lambda t: t.remove(path),
                           message or "remove %s" % path_text(path), author, None, parents)

    def set_tree(self, path, tree, message=None, author=None, parents=None):
        """Put the Tree ``tree`` at ``path`` in a new commit (an empty tree removes
        it); return the head id. TypeError if ``tree`` is not a Tree; other errors
        and ``parents``: as ``set``."""
        return self._write(lambda t: t.add_tree(path, tree),
                           message or "set tree %s" % path_text(path), author, None, parents)

    def test_and_set(self, path, test, set, *args, **kw):
        """``test_and_set(path, test, set, message=None, author=None, parents=None)``:
        if the value
        at ``path`` is ``test`` (MISSING: absent), store ``set`` (MISSING: remove) in
        a new commit and return the head id; otherwise raise TestFailed carrying what
        was found (see transactions.test_and_set)."""
        from portable_core.transactions import test_and_set

        return test_and_set(self, path, test, set, *args, **kw)

    def transaction(self, fn, *args, **kw):
        """``transaction(fn, strategy="test_and_set", message=None, author=None,
        retries=None, parents=None)``: run ``fn(txn)`` on a snapshot of the head tree
        and commit its writes (txn: a transactions.Transaction). Returns ``(fn's
        result, head id)``. See transactions.transaction for the strategies,
        ``retries`` (re-running ``fn`` on the new head) and the errors."""
        from portable_core.transactions import transaction

        return transaction(self, fn, *args, **kw)

    def with_tree(self, path, fn, *args, **kw):
        """``with_tree(path, fn, strategy="test_and_set", message=None, author=None,
        retries=None, parents=None)``: replace the subtree at ``path`` by
        ``fn(subtree or None)`` (None or an empty tree removes it), committing with
        the transaction ``strategy``; return the head id (see
        transactions.with_tree)."""
        from portable_core.transactions import with_tree

        return with_tree(self, path, fn, *args, **kw)

    # -- merging ---------------------------------------------------------------------

    def merge(self, path, value, *args, **kw):
        """``merge(path, value, old=MISSING, message=None, author=None,
        parents=None)``: merge
        ``value`` into the value at ``path`` with ``old`` as their common ancestor,
        using the repo's merge function for ``path``; MergeConflictError if they
        conflict (nothing changes). See merging.merge_value."""
        from portable_core.merging import merge_value

        return merge_value(self, path, value, *args, **kw)

    def merge_with_commit(self, commit, *args, **kw):
        """``merge_with_commit(commit, message=None, author=None, max_depth=None)``:
        merge ``commit`` into this branch: fast-forward when possible, else a merge
        commit with both parents. Returns the new head id. MergeConflictError
        (nothing changes) on conflict, UnknownCommit (no ref created) if ``commit``
        names no commit, InvalidInfo for bad info, TooManyRetries if the head kept
        moving."""
        from portable_core.merging import merge_with_commit

        return merge_with_commit(self, commit, *args, **kw)

    def merge_with_branch(self, other, *args, **kw):
        """``merge_with_branch(other, message=None, author=None, max_depth=None)``:
        merge the head of branch ``other`` into this branch (see merge_with_commit);
        StoreError if ``other`` does not exist, InvalidBranchName for a bad name."""
        from portable_core.merging import merge_with_branch

        return merge_with_branch(self, other, *args, **kw)

    def merge_into(self, into, *args, **kw):
        """``merge_into(into, message=None, author=None, max_depth=None)``: merge this
        branch into branch ``into``; return ``into``'s new head."""
        return self.repo.branch(into).merge_with_branch(self.name, *args, **kw)

    # -- heads -----------------------------------------------------------------------

    def set_head(self, commit):
        """Point the branch at ``commit`` (id, prefix or branch name), whatever it held;
        return its id. UnknownCommit (nothing changes) if it names no commit."""
        from portable_core.heads import set_head

        return set_head(self, commit)

    revert = set_head  # Irmin's revert: reset the branch to ``commit``

    def test_and_set_head(self, test, set):
        """If the head is ``test`` (None: no branch), make it ``set`` (None: delete);
        return True when done, False (nothing changes) when the head is not
        ``test``. UnknownCommit if ``set`` is not a commit of the store."""
        from portable_core.heads import test_and_set_head

        return test_and_set_head(self, test, set)

    def fast_forward(self, commit, *args, **kw):
        """``fast_forward(commit, max_depth=None)``: move the head forward to
        ``commit``, which must descend from it.

        FastForwardError("no_change") if it is the head already, ("rejected") if it
        does not descend from the head, ("max_depth_reached") if proving it would
        need more than ``max_depth`` steps.
        """
        from portable_core.heads import fast_forward

        return fast_forward(self, commit, *args, **kw)

    def clone(self, name):
        """Point branch ``name`` at this branch's head and return its handle; when
        this branch has no head, ``name`` is removed (Irmin's clone).
        InvalidBranchName for a bad name."""
        from portable_core.heads import clone

        return clone(self, name)

    # -- history ---------------------------------------------------------------------

    def log(self, *args, **kw):
        """``log(depth=None, path=None)``: yield the commits of this branch's history,
        newest first (see history.log for its arguments and errors)."""
        from portable_core import history

        return history.log(self.repo.objects, self.head(), *args, **kw)

    def last_modified(self, path, *args, **kw):
        """``last_modified(path, n=1, depth=None)``: return the ids of the (up to
        ``n``) commits that last changed ``path``, at most ``depth`` parent links
        below the head (see history.last_modified; ValueError for a bad path)."""
        from portable_core import history

        return history.last_modified(self.repo.objects, self.head(), path, *args, **kw)

    def lcas(self, other, *args, **kw):
        """``lcas(other, max_depth=None, n=None)``: return the lowest common ancestors
        of this head and ``other`` (a commit: UnknownCommit if it names none; see
        history.lcas for the other errors)."""
        from portable_core import history

        return history.lcas(self.repo.objects, self.head(), self.repo.resolve(other), *args, **kw)

    # -- watches ---------------------------------------------------------------------

    def watch(self, callback):
        """Call ``callback(event)`` after each change of this branch's head; return the
        Watch."""
        return self.repo.watchers.add(self.name, callback)

    def watch_key(self, path, callback):
        """Call ``callback(event)`` when a head change touches ``path`` (value or
        subtree); return the Watch. ValueError for a bad path."""
        return self.repo.watchers.add(self.name, callback, path_text(path))

    def unwatch(self, watch):
        """Stop ``watch``."""
        self.repo.watchers.remove(watch)


def _updated(objects, parent, update):
    # ``update`` applied to ``parent``'s tree. The old tree is not kept here: while
    # the new one is written, the old nodes' bytes are freed as soon as the nodes
    # edited from them are written (MicroPython's GC also scans a frame's stale
    # slots, so the old tree must never sit in the writer's frame).
    return update(Tree.empty() if parent is None else Tree.of_node(objects, parent.tree))
