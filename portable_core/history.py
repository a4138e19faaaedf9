"""History queries: log, exact lowest common ancestors, last_modified, ancestry.

Every walk visits commits in decreasing height (then id), through a heap of the
frontier only: it loads the commits it needs one at a time and stops as soon as
the answer is known. Nothing here holds the whole history in memory unless the
question needs it (a full ``log`` is a generator).
"""

import heapq

from portable_core.commit import read_commit
from portable_core.conflict import MISSING
from portable_core.observe import observe, same_observation
from portable_core.tree import Tree


class MaxDepthReached(Exception):
    """A history search needed to go deeper than its ``max_depth``."""

    def __init__(self, max_depth):
        super().__init__("max depth reached (%d)" % max_depth)
        self.max_depth = max_depth


class TooManyLcas(Exception):
    """More lowest common ancestors than the caller allowed (``n``)."""


def _push(heap, commit):
    # Highest first: heapq is a min-heap, so negate the height.
    heapq.heappush(heap, (-commit.height, commit.id, commit))


def walk(objects, heads, max_depth=None):
    """Yield the commits reachable from ``heads`` (ids), each once, highest first.

    With ``max_depth``, commits more than ``max_depth`` parent links below every
    head are not visited.
    """
    heap = []
    depth = {}
    for h in heads:
        if h not in depth:
            depth[h] = 0
            _push(heap, read_commit(objects, h))
    while heap:
        _, _, commit = heapq.heappop(heap)
        yield commit
        d = depth.pop(commit.id) + 1
        if max_depth is not None and d > max_depth:
            continue
        for p in commit.parents:
            if p not in depth:
                depth[p] = d
                _push(heap, read_commit(objects, p))
            elif d < depth[p]:
                depth[p] = d


def _value_at(objects, commit, path):
    return observe(Tree.of_node(objects, commit.tree), path)


def log(objects, head, depth=None, path=None):
    """Yield the commits of the history of ``head``, newest (highest) first.

    ``depth`` bounds how many parent links to follow; ``path`` keeps only the
    commits that changed the value or subtree at ``path`` relative to their
    parents (every parent, for a merge commit).
    """
    if head is None:
        return
    for commit in walk(objects, [head], depth):
        if path is None:
            yield commit
            continue
        mine = _value_at(objects, commit, path)
        changed = True
        if commit.parents:
            changed = False
            for p in commit.parents:
                if not same_observation(mine, _value_at(objects, read_commit(objects, p), path)):
                    changed = True
                    break
        elif mine is MISSING:
            changed = False
        if changed:
            yield commit


def is_ancestor(objects, ancestor, descendant):
    """Return True when commit ``ancestor`` is ``descendant`` or one of its ancestors."""
    if ancestor == descendant:
        return True
    target = read_commit(objects, ancestor)
    for commit in walk(objects, [descendant]):
        if commit.height < target.height:
            return False
        if commit.id == ancestor:
            return True
    return False


def distance(objects, ancestor, descendant, max_depth):
    """Return the fewest parent links from ``descendant`` to ``ancestor``, or None
    if that takes more than ``max_depth`` links (or ``ancestor`` is not one).
    Visits at most the commits within ``max_depth`` links of ``descendant``."""
    level = [descendant]
    seen = {descendant}
    for d in range(max_depth + 1):
        if ancestor in level:
            return d
        following = []
        for oid in level:
            for p in read_commit(objects, oid).parents:
                if p not in seen:
                    seen.add(p)
                    following.append(p)
        level = following
    return None


_LEFT = 1
_RIGHT = 2
_STALE = 4


def lcas(objects, a, b, max_depth=None, n=None):
    """Return the sorted ids of the lowest common ancestors of commits ``a`` and ``b``.

    Exact: a common ancestor is returned only if no other common ancestor descends
    from it. Walks down from both commits in height order, marking each commit with
    the side(s) it is reachable from, and stops when every frontier commit is known
    to lie below a common ancestor (git's paint-down). ``max_depth`` bounds the
    search depth below either commit: MaxDepthReached if the answer needs more.
    ``n`` bounds the number of answers: TooManyLcas beyond it.
    """
    if a == b:
        return [a]
    flags = {a: _LEFT, b: _RIGHT}
    depth = {a: 0, b: 0}
    heap = []
    _push(heap, read_commit(objects, a))
    _push(heap, read_commit(objects, b))
    candidates = []
    while heap:
        if all(flags[item[1]] & _STALE for item in heap):
            break
        _, _, commit = heapq.heappop(heap)
        f = flags[commit.id]
        if f & (_LEFT | _RIGHT) == (_LEFT | _RIGHT):
            if not f & _STALE:
                candidates.append(commit)
                f |= _STALE
                flags[commit.id] = f
        d = depth[commit.id] + 1
        if commit.parents and max_depth is not None and d > max_depth and not f & _STALE:
            raise MaxDepthReached(max_depth)
        for p in commit.parents:
            old = flags.get(p)
            new = (old or 0) | f
            if old is None:
                flags[p] = new
                depth[p] = d
                _push(heap, read_commit(objects, p))
            elif new != old:
                # Heights fall along parent links and the heap pops the highest
                # first, so ``p`` is still in the heap: updating its flags is enough.
                flags[p] = new
                if d < depth[p]:
                    depth[p] = d
    # Drop candidates that are ancestors of another candidate.
    result = []
    for c in candidates:
        redundant = False
        for other in candidates:
            if other.id != c.id and other.height > c.height and is_ancestor(objects, c.id, other.id):
                redundant = True
                break
        if not redundant:
            result.append(c.id)
    result.sort()
    if n is not None and len(result) > n:
        raise TooManyLcas("%d lowest common ancestors, more than %d" % (len(result), n))
    return result


def last_modified(objects, head, path, n=1):
    """Return up to ``n`` ids of the commits that last changed the value at ``path``.

    Starting from ``head``, a commit whose value at ``path`` equals a parent's
    passes the search on to the parents with that same value; a commit whose value
    differs from every parent's (or a root commit holding a value) is a modifier,
    and the search goes on into all its parents for older modifications.
    Stops after ``n`` modifiers: only the history needed is loaded.
    """
    if head is None:
        return []
    found = []
    heap = []
    seen = {head}
    first = read_commit(objects, head)
    _push(heap, first)
    values = {head: _value_at(objects, first, path)}
    while heap and len(found) < n:
        _, _, commit = heapq.heappop(heap)
        mine = values.pop(commit.id)
        parents = []
        same_parents = []
        for p in commit.parents:
            pc = read_commit(objects, p)
            pv = _value_at(objects, pc, path)
            parents.append((pc, pv))
            if same_observation(mine, pv):
                same_parents.append((pc, pv))
        if not same_parents:
            if mine is not MISSING or commit.parents:
                found.append(commit.id)
            # older modifications lie behind this one, in every parent
            same_parents = parents
        for pc, pv in same_parents:
            if pc.id not in seen:
                seen.add(pc.id)
                values[pc.id] = pv
                _push(heap, pc)
    return found
