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
from portable_core.compat import IS_MICROPYTHON
from portable_core.missing import MISSING
from portable_core.tree import Tree

# history, merge (MergePolicy, merge_trees), watch and the rarely used methods
# (store_more.py) are imported where they are used: a device that only reads and
# writes never loads them (their functions and classes would take heap, see
# docs/DESIGN.md "Memory").

DEFAULT_BRANCH = "main"
DEFAULT_RETRIES = 13
_BRANCH_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_./"


_ERRORS = ("StoreError", "InvalidBranchName", "WriteError", "TestFailed", "TooManyRetries",
           "FastForwardError")


def _error(name):
    # the exception classes are defined in store_errors.py, loaded on first use
    # (also through this module's ``__getattr__``: ``store.TestFailed``)
    from portable_core import store_errors

    return getattr(store_errors, name)


def check_branch_name(name):
    """Return ``name`` if it is a valid branch name; InvalidBranchName otherwise."""
    if not isinstance(name, str) or not name:
        raise _error("InvalidBranchName")("a branch name is a non-empty string")
    for ch in name:
        if ch not in _BRANCH_CHARS:
            raise _error("InvalidBranchName")(
                "branch name %r: only A-Z a-z 0-9 - _ . / are allowed" % name
            )
    for part in name.split("/"):
        if not part or part.startswith(".") or part.endswith(".lock"):
            raise _error("InvalidBranchName")(
                "branch name %r: empty component, or one starting with '.' or ending in '.lock'" % name
            )
    if ".." in name or name.endswith("."):
        raise _error("InvalidBranchName")("branch name %r: no '..' and no trailing '.'" % name)
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
    for each path; the default merges with ``merge.default``. Methods beyond
    branches and commits (resolve, diff, merges, watches) are in store_more.py.
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
        return _more(self, name)

    # -- branches -----------------------------------------------------------------

    def branch(self, name=DEFAULT_BRANCH):
        """Return a handle on branch ``name`` (it need not exist yet)."""
        return Branch(self, check_branch_name(name))

    def main(self):
        """Return the handle on the default branch, ``main``."""
        return self.branch(DEFAULT_BRANCH)

    # -- commits ------------------------------------------------------------------

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
        released (``Tree.write``): it stays valid, reading them back if needed."""
        tree_id = tree.write(self.objects, True)
        return write_commit(self.objects, tree_id, parents, author or self.author,
                            message or "", self._date(parents))

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


class Branch:
    """A handle on one branch of a repo. Reads see the current head; writes commit.
    Methods beyond get/set (transactions, merges, heads, history, watches) are in
    store_more.py."""

    def __init__(self, repo, name):
        self.repo = repo
        self.name = name

    def __repr__(self):
        return "Branch(%r)" % self.name

    def __getattr__(self, name):
        return _more(self, name)

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

    def list(self, path=""):
        """Return the sorted ``(step, kind)`` pairs directly under ``path``."""
        return self.tree().list(path)

    # -- writing ---------------------------------------------------------------------

    def _write(self, update, message, author, retries=None):
        """Apply ``update(tree) -> tree`` to the head tree and commit, retrying when
        the head moves. Returns the new head id (the old one if nothing changed)."""
        repo = self.repo
        for _ in range((repo.retries if retries is None else retries) + 1):
            head = self.head()
            parent = None if head is None else read_commit(repo.objects, head)
            new_tree = _updated(repo.objects, parent, update)
            if parent is not None and new_tree.hash() == parent.tree:
                return head
            commit = repo.make_commit(new_tree, [] if parent is None else [parent], message, author)
            if repo._update_head(self.name, head, commit.id):
                return commit.id
        raise _error("TooManyRetries")("branch %s kept moving: gave up after %d retries" % (self.name, repo.retries))

    def set(self, path, value, message=None, author=None):
        """Store ``value`` at ``path`` in a new commit; return the head id."""
        return self._write(lambda t: t.add(path, value),
                           message or "set %s" % _path_text(path), author)

    def remove(self, path, message=None, author=None):
        """Remove ``path`` (value or subtree) in a new commit; return the head id."""
        return self._write(lambda t: t.remove(path),
                           message or "remove %s" % _path_text(path), author)


def _updated(objects, parent, update):
    # ``update`` applied to ``parent``'s tree. The old tree is not kept here: while
    # the new one is written, the old nodes' bytes are freed as soon as the nodes
    # edited from them are written (MicroPython's GC also scans a frame's stale
    # slots, so the old tree must never sit in the writer's frame).
    return update(Tree.empty() if parent is None else Tree.of_node(objects, parent.tree))


def _more(obj, name):
    # The methods of Repo and Branch that reading and writing values never call
    # (merges, history, heads, watches, transactions, ...) are defined in
    # store_more.py: on MicroPython every method is a heap object, so they are
    # added to the classes on the first use of any of them.
    # Collecting first lets the lasting objects of the load fill holes low in the
    # heap instead of splitting the large free blocks above.
    import sys

    if name[:2] != "__" and "portable_core.store_more" not in sys.modules:
        import gc

        gc.collect()
        from portable_core import store_more  # noqa: F401 (importing it attaches them)

        return getattr(obj, name)
    raise AttributeError(name)


def __getattr__(name):
    # the exceptions are in store_errors.py; Transaction is defined in store_more.py
    if name in _ERRORS:
        return _error(name)
    if name == "Transaction":
        from portable_core import store_more

        return store_more.Transaction
    raise AttributeError(name)


if not IS_MICROPYTHON:  # CPython has the room: every method there from the start
    from portable_core import store_more  # noqa: F401
