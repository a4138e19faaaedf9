"""Naming commits: ``resolve`` turns a 32-byte id, a branch name or a unique hex
prefix into a commit id (``Repo.resolve`` calls it)."""

from portable_core.objects import TAG_COMMIT, resolve_prefix
from portable_core.store_errors import InvalidBranchName, StoreError


def resolve(self, ref):
    """Return the commit id named by ``ref`` in Repo ``self``: a 32-byte id, a branch name,
    or a (unique, >= 4 digits) hex prefix. StoreError if it names nothing."""
    if isinstance(ref, (bytes, bytearray)) and len(ref) == 32:
        return bytes(ref)
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
            raise StoreError("%r is neither a branch nor a commit: %s" % (ref, exc))
    raise StoreError("cannot resolve %r to a commit" % (ref,))
