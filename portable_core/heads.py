"""Moving branch heads: the bodies of ``Repo.branches``, ``Repo.remove_branch``,
``Branch.set_head``, ``test_and_set_head``, ``fast_forward`` and ``clone``
(portable_core.store's thin methods import this module on first call). Each
function takes the Repo or Branch as ``self``, as the method does. Every head change
goes through the ref store's ``test_and_set`` (``Repo._update_head``), which also
tells the watchers."""

from portable_core.store_errors import FastForwardError


def branches(self):
    """Return the sorted names of the existing branches of Repo ``self``."""
    return [r[6:] for r in self.refs.list() if r.startswith("heads/")]


def remove_branch(self, name):
    """Delete branch ``name`` of Repo ``self`` (its commits stay in the object store)."""
    ref = "heads/" + self.branch(name).name  # InvalidBranchName if it is not one
    old = self.refs.get(ref)
    if old is None:
        return
    while not self.refs.test_and_set(ref, old, None):
        old = self.refs.get(ref)
        if old is None:
            return
    self._notify(name, old, None)


def set_head(self, commit):
    """Point Branch ``self`` at ``commit`` (id, prefix or branch name), whatever it
    held; UnknownCommit (nothing changes) if it names no commit of the store."""
    cid = self.repo.resolve(commit)  # UnknownCommit if it names no commit
    self.repo.commit(cid)  # ObjectError if it is malformed
    while True:
        old = self.head()
        if self.repo._update_head(self.name, old, cid):
            return cid


def test_and_set_head(self, test, set):
    """If the head of Branch ``self`` is ``test`` (None: no branch), make it ``set``
    (None: delete); return True when done. UnknownCommit if ``set`` is not a
    commit of the store (see Repo.resolve; nothing changes)."""
    if set is not None:
        set = self.repo.resolve(set)
    return self.repo._update_head(self.name, test, set)


def fast_forward(self, commit, max_depth=None):
    """Move the head of Branch ``self`` forward to ``commit`` (see
    Branch.fast_forward); UnknownCommit (no ref created) if it names no commit."""
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
    """Point branch ``name`` at the head of Branch ``self`` and return its handle;
    when ``self`` has no head, branch ``name`` is removed (Irmin's clone).
    InvalidBranchName for a bad name."""
    other = self.repo.branch(name)
    head = self.head()
    if head is not None:
        other.set_head(head)
    else:
        self.repo.remove_branch(name)
    return other
