"""Naming commits: ``resolve`` turns a 32-byte id, a branch name or a unique hex
prefix into the id of a commit of the store (``Repo.resolve`` calls it), and
``parent_commits`` checks the explicit parents a write is given."""

from portable_core.commit import read_commit
from portable_core.objects import TAG_COMMIT, resolve_prefix
from portable_core.store_errors import InvalidBranchName, UnknownCommit


def resolve(self, ref):
    """Return the commit id named by ``ref`` in Repo ``self``: a 32-byte id, a branch
    name, or a (unique, >= 4 digits) hex prefix. UnknownCommit (a StoreError) if it
    names no commit of the store: an id that is absent or names another kind of
    object, a branch that does not exist, a prefix matching nothing or several."""
    if isinstance(ref, (bytes, bytearray)):
        oid = bytes(ref)
        if len(oid) != 32:
            raise UnknownCommit(ref, "is not a 32-byte commit id")
        raw = self.objects.get(oid)
        if raw is None:
            raise UnknownCommit(oid)
        if raw[0] != TAG_COMMIT:
            raise UnknownCommit(oid, "is not a commit object")
        return oid
    if isinstance(ref, str):
        try:
            head = self.branch(ref).head()
        except InvalidBranchName:
            head = None
        if head is not None:
            return head
        try:
            return resolve_prefix(self.objects, ref, TAG_COMMIT)
        except ValueError as exc:
            raise UnknownCommit(ref, "is neither a branch nor a commit: %s" % exc)
    raise UnknownCommit(ref, "cannot name a commit (an id, a branch name or a hex prefix)")


def parent_commits(self, parents):
    """Return the Commits of ``parents`` (a list or tuple of commit ids, see
    ``resolve``) for a write given explicit parents by Repo ``self``; TypeError if
    ``parents`` is not a list or tuple, UnknownCommit for an id that is not a
    commit of the store. Duplicates are kept once."""
    if not isinstance(parents, (list, tuple)):
        raise TypeError("parents must be a list of commit ids, not %s" % type(parents).__name__)
    out = []
    seen = []
    for p in parents:
        cid = resolve(self, p)
        if cid not in seen:
            seen.append(cid)
            out.append(read_commit(self.objects, cid))
    return out
