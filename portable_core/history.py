"""History queries: log, exact lowest common ancestors, last_modified, ancestry.

Every walk visits commits in decreasing height (then id), through a heap of the
frontier only: it loads the commits it needs one at a time and stops as soon as
the answer is known. Nothing here holds the whole history in memory unless the
question needs it (a full ``log`` is an iterator).

Shallow history: a store that keeps only part of its history (the flash store's
retention, docs/DESIGN.md "History walks") holds commits whose parents are gone.
Every walk here treats a parent commit missing from the object store as the edge
of history, as Git treats a shallow clone's boundary: the walk stops there and the
edge is reported (``Log.edge``, ``boundary``), never raised. A missing head, or a
missing tree or value of a stored commit, is still an error (damage).
"""

import heapq

from portable_core.commit import decode_commit, read_commit
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


def find_commit(objects, oid):
    """Return commit ``oid``, or None when it is not stored (beyond the edge of a
    shallow history). Damaged or malformed bytes still raise."""
    raw = objects.get(oid)
    return None if raw is None else decode_commit(raw, oid)


def stored_parents(objects, commit, edge=None):
    """Return the parents of ``commit`` that are stored (Commits, sorted by id);
    when one is missing, append ``commit.id`` to the list ``edge`` (once)."""
    out = []
    for p in commit.parents:
        pc = find_commit(objects, p)
        if pc is None:
            if edge is not None and commit.id not in edge:
                edge.append(commit.id)
        else:
            out.append(pc)
    return out


def walk(objects, heads, max_depth=None, edge=None):
    """Yield the commits reachable from ``heads`` (ids), each once, highest first.

    With ``max_depth``, commits more than ``max_depth`` parent links below every
    head are not visited. A missing parent is the edge of history: the ids of the
    commits whose parents are missing are appended to the list ``edge`` if given.
    A missing head raises CommitNotFound.
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
                pc = find_commit(objects, p)
                if pc is None:
                    if edge is not None and commit.id not in edge:
                        edge.append(commit.id)
                    depth[p] = -1  # known missing: never pushed
                    continue
                depth[p] = d
                _push(heap, pc)
            elif depth[p] < 0:
                if edge is not None and commit.id not in edge:
                    edge.append(commit.id)
            elif d < depth[p]:
                depth[p] = d


def _value_at(objects, commit, path):
    return observe(Tree.of_node(objects, commit.tree), path)


class Log:
    """The commits of a ``log``, newest (highest) first: an iterator.

    ``edge``: the ids of the commits met so far whose parents are missing (where
    retention cut the history; complete once the iteration is over); ``shallow``:
    True when there is such a commit.
    """

    def __init__(self, objects, head, depth, path):
        self.edge = []
        self._it = _log(objects, head, depth, path, self.edge)

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._it)

    @property
    def shallow(self):
        """True when the history met so far was cut (some parents are missing)."""
        return bool(self.edge)


def log(objects, head, depth=None, path=None):
    """Return a ``Log`` of the history of ``head``, newest (highest) first.

    ``depth`` bounds how many parent links to follow; ``path`` keeps only the
    commits that changed the value or subtree at ``path`` relative to their
    parents (every parent, for a merge commit; a commit on the edge, whose parents
    are missing, cannot be shown to change it and is left out, as Irmin's
    ``last_modified`` does). ``Log.edge`` says where history was cut.
    """
    return Log(objects, head, depth, path)


def _log(objects, head, depth, path, edge):
    if head is None:
        return
    for commit in walk(objects, [head], depth, edge):
        if path is None:
            yield commit
            continue
        if _modified(objects, commit, path, _value_at(objects, commit, path)):
            yield commit


def _modified(objects, commit, path, mine):
    """True when ``commit`` changed ``path`` (value ``mine``): it differs from every
    parent; a root commit changed it when it holds something; a commit with a
    missing parent is not known to have changed it."""
    if not commit.parents:
        return mine is not MISSING
    for p in commit.parents:
        pc = find_commit(objects, p)
        if pc is None or same_observation(mine, _value_at(objects, pc, path)):
            return False
    return True


def boundary(objects, heads):
    """Return the sorted ids of the commits reachable from ``heads`` whose parents
    are (some of them) missing: the edge of a shallow history ([] when whole)."""
    edge = []
    for _ in walk(objects, heads, None, edge):
        pass
    edge.sort()
    return edge


def is_ancestor(objects, ancestor, descendant):
    """Return True when commit ``ancestor`` is ``descendant`` or one of the
    ancestors stored (a commit beyond the edge of history is not found)."""
    if ancestor == descendant:
        return True
    target = find_commit(objects, ancestor)
    if target is None:
        return False
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
            c = find_commit(objects, oid)
            for p in (c.parents if c is not None else ()):
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
    to lie below a common ancestor (git's paint-down). Missing parents are the edge
    of history: only the stored commits are searched. ``max_depth`` bounds the
    search as Irmin's ``lcas ~max_depth`` does (``check_depth``): MaxDepthReached
    where Irmin reports ``Max_depth_reached``. ``n`` bounds the number of answers:
    TooManyLcas beyond it.
    """
    if max_depth is not None:
        check_depth(objects, a, b, max_depth, n)
    if a == b:
        return [a]
    flags = {a: _LEFT, b: _RIGHT}
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
        for p in commit.parents:
            old = flags.get(p)
            if old == 0:
                continue  # missing: the edge
            new = (old or 0) | f
            if old is None:
                pc = find_commit(objects, p)
                if pc is None:
                    flags[p] = 0
                    continue
                flags[p] = new
                _push(heap, pc)
            elif new != old:
                # Heights fall along parent links and the heap pops the highest
                # first, so ``p`` is still in the heap: updating its flags is enough.
                flags[p] = new
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


# Irmin's marks (src/irmin/commit.ml, History.lcas)
_SEEN1 = 1
_SEEN2 = 2
_BOTH = 3
_LCA = 4


def check_depth(objects, a, b, max_depth, n=None):
    """Raise MaxDepthReached when Irmin's ``lcas ~max_depth ?n a b`` reports
    ``Max_depth_reached``: Irmin searches breadth first from both commits, layer by
    layer (a commit's depth is its distance from the nearer of ``a`` and ``b``),
    and stops when every commit of the layer just searched is reachable from both
    sides, when ``a`` or ``b`` is reachable from the other, or when it has found
    ``n`` candidates; it needs a layer deeper than ``max_depth`` otherwise.
    Missing parents are the edge (Irmin reads no parents for a missing commit).
    Visits the commits of at most ``max_depth + 1`` layers."""
    if max_depth < 0:
        raise MaxDepthReached(max_depth)
    if a == b or (n is not None and n <= 0):
        return
    marks = {a: _SEEN1, b: _SEEN2}
    parents = {}
    state = [0, 0, False]  # current layer, candidates, complete
    layer = []
    queue = [(0, a), (0, b)] if a < b else [(0, b), (0, a)]
    seen = set()
    i = 0
    while True:
        if state[0] > max_depth:
            raise MaxDepthReached(max_depth)
        if state[2] or (n is not None and state[1] >= n):
            return
        while i < len(queue) and queue[i][1] in seen:
            i += 1
        if i >= len(queue):
            return
        depth, oid = queue[i]
        i += 1
        seen.add(oid)
        c = find_commit(objects, oid)
        ps = sorted(c.parents) if c is not None else []
        parents[oid] = ps
        if depth != state[0]:
            complete = True
            for k in layer:
                if marks.get(k, 0) < _BOTH:
                    complete = False
                    break
            if complete:
                state[2] = True
            else:
                state[0] = depth
                layer = []
        layer.append(oid)
        mark = marks[oid]
        for p in ps:
            _irmin_mark(marks, parents, state, a, b, mark, p)
        for p in ps:
            if p not in seen:
                queue.append((depth + 1, p))
        if i > 64:  # drop the consumed part of the queue
            del queue[:i]
            i = 0


def _irmin_mark(marks, parents, state, a, b, mark, commit):
    """Irmin's ``update_ancestors_marks``: give ``commit`` the mark ``mark`` and
    carry the change down to its ancestors already visited."""
    todo = [commit]
    while todo:
        x = todo.pop(0)
        old = marks.get(x)
        if mark == _BOTH:
            if old == _LCA:
                state[1] -= 1
            new = _BOTH
        elif old is None or old == mark:
            new = mark
        elif old == _LCA:
            new = _LCA
        elif (mark == _SEEN1 and old == _SEEN2) or (mark == _SEEN2 and old == _SEEN1):
            state[1] += 1
            new = _LCA
        else:
            new = _BOTH
        if new >= _BOTH and (x == a or x == b):
            state[2] = True  # a fast-forward
        marks[x] = new
        if not (old == _BOTH or old == _LCA or old == new):
            for p in parents.get(x, ()):
                todo.append(p)
        mark = _BOTH if new == _LCA else new


def last_modified(objects, head, path, n=1, depth=None):
    """Return up to ``n`` ids of the commits that last changed the value at ``path``.

    As Irmin's ``last_modified ?depth ~n``: starting from ``head``, commits are
    searched newest (highest) first; a commit whose value at ``path`` differs from
    every parent's (or a root commit holding a value) is a modifier; a commit with
    a missing parent (the edge of a shallow history) is not. ``depth``: commits
    more than ``depth`` parent links below ``head`` are not searched (a commit at
    ``depth`` is still compared with its parents). Stops after ``n`` modifiers.
    """
    if head is None:
        return []
    found = []
    heap = []
    first = read_commit(objects, head)
    _push(heap, first)
    dist = {head: 0}  # queued commits: parent links below head
    values = {head: _value_at(objects, first, path)}
    while heap and len(found) < n:
        _, _, commit = heapq.heappop(heap)
        mine = values.pop(commit.id)
        d = dist.pop(commit.id)
        follow = depth is None or d < depth
        modified = mine is not MISSING if not commit.parents else True
        for p in commit.parents:
            if p in dist:
                pv = values[p]
                if d + 1 < dist[p]:
                    dist[p] = d + 1
            else:
                pc = find_commit(objects, p)
                if pc is None:
                    modified = False
                    continue
                pv = _value_at(objects, pc, path)
                if follow:
                    dist[p] = d + 1
                    values[p] = pv
                    _push(heap, pc)
            if same_observation(mine, pv):
                modified = False
        if modified:
            found.append(commit.id)
    return found
