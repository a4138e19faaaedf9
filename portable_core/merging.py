"""Merges on a repo: the bodies of ``Repo.merge_commits``, ``Branch.merge`` (one
value), ``Branch.merge_with_commit`` and ``merge_with_branch``
(portable_core.store's thin methods import this module on first call). Each function
takes the Repo or Branch as ``self``, as the method does."""

from portable_core.commit import read_commit
from portable_core.conflict import MISSING, MergeConflictError, is_conflict
from portable_core.objects import to_hex
from portable_core.paths import path_text
from portable_core.store_errors import StoreError, TooManyRetries
from portable_core.tree import Tree


def merge_base(self, ids, depth=0):
    """Return the Tree to use as the common ancestor of a merge of commits
    whose lowest common ancestors are ``ids`` (several: merged recursively)."""
    from portable_core import history
    from portable_core.tree_merge import merge_trees

    if not ids:
        return Tree.empty()
    base = Tree.of_node(self.objects, read_commit(self.objects, ids[0]).tree)
    for other in ids[1:]:
        if depth > 8:
            raise StoreError("merge: too many nested common ancestors")
        inner = merge_base(self, history.lcas(self.objects, ids[0], other), depth + 1)
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
    from portable_core.tree_merge import merge_trees

    ids = history.lcas(self.objects, a, b, max_depth)
    base = merge_base(self, ids)
    ta = Tree.of_node(self.objects, read_commit(self.objects, a).tree)
    tb = Tree.of_node(self.objects, read_commit(self.objects, b).tree)
    merged = merge_trees(self.objects, base, ta, tb, self.merge_policy.for_path)
    if is_conflict(merged):
        raise MergeConflictError(merged)
    return merged


def merge_value(self, path, value, old=MISSING, message=None, author=None, parents=None):
    """Merge ``value`` into the value at ``path`` with ``old`` as their common
    ancestor, using the repo's merge function for ``path``; MergeConflictError
    if they conflict (nothing changes). Other errors and ``parents``: as
    ``Branch.set``."""
    key = path_text(path)
    f = self.repo.merge_policy.for_path(key)

    def update(tree):
        merged = f(old, tree.find(path), value)
        if is_conflict(merged):
            raise MergeConflictError(merged.at(key))
        return tree.remove(path) if merged is MISSING else tree.add(path, merged)

    return self._write(update, message or "merge %s" % key, author, None, parents)


def merge_with_commit(self, commit, message=None, author=None, max_depth=None):
    """Merge ``commit`` into this branch: fast-forward when possible, else a merge
    commit with both parents. Returns the new head id. MergeConflictError (nothing
    changes) on conflict; UnknownCommit (no ref created) if ``commit`` names no
    commit; TooManyRetries if the head kept moving."""
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

