"""Retention: what a store that keeps only part of its history must keep, and what
a raw object refers to, for a storage backend that knows no object model.

The flash store's compaction and fsck (block_backend) are handed this module
(``FlashStore.open(device, keep=2, retention=retention)``) instead of importing
the object model (docs/DESIGN.md "Block store"):

- ``links(raw)``: the ids a stored object needs (they must be stored with it) and
  its history links (parent commits, which may be missing: the edge of history);
- ``kept_commits(objects, heads, keep)``: the commits to keep.

Both are pure functions of what they are given (no branch names, no order).
"""


def links(raw):
    """Return ``(needed, parents)`` for an object's raw bytes: the ids it cannot
    be read without (a commit's tree, a node's children and values) and its parent
    commits (history, which a shallow store may have dropped). ObjectError if the
    bytes are not a Sprig object."""
    from portable_core.objects import TAG_COMMIT, TAG_CONTENTS, decode_object

    if raw[0] == TAG_CONTENTS:
        return [], []
    tag, body = decode_object(raw)
    if tag == TAG_COMMIT:
        return [body[0]], list(body[1])
    if body[0] == 0:
        return [entry[2] for entry in body[1]], []
    return [child[1] for child in body[3]], []


def kept_commits(objects, heads, keep):
    """Return the ids of the commits to keep, highest (newest) first, or None for
    all history (``keep`` None).

    Kept: the commits at most ``keep - 1`` parent links below each head, and the
    lowest common ancestors of every pair of heads (with, when there are several,
    the common ancestors a recursive merge of them uses) with every commit between
    them and the heads: each head keeps its ancestors down to the height of the
    lowest of those with any other head, so that a walk from either head reaches
    them and merging any two heads works after the others are dropped. A function
    of the set of heads and ``keep`` only. RAM: the kept ids, O(heads * keep) plus
    the commits since the heads' common ancestors.
    """
    from portable_core import history
    from portable_core.storage import StorageError

    if keep is None:
        return None
    tips = []
    for h in sorted(set(heads)):
        if _find(objects, h) is not None:
            tips.append(h)
    floor = {}
    for i in range(len(tips)):
        for j in range(i + 1, len(tips)):
            try:
                common = history.lcas(objects, tips[i], tips[j])
            except StorageError:
                continue  # damage: fsck reports it; keep what can be read
            height = _lowest(objects, common, 0) if common else None
            if height is None:
                continue
            for t in (tips[i], tips[j]):
                if t not in floor or height < floor[t]:
                    floor[t] = height
    kept = {}
    for t in tips:
        _keep_below(objects, t, keep, floor.get(t), kept)
    order = sorted([(-height, oid) for oid, height in kept.items()])
    return [oid for _, oid in order]


def _lowest(objects, ids, depth):
    """Return the lowest height among the commits ``ids`` and, when there are
    several, the common ancestors a recursive merge of them reads (as the store's
    merge: ``ids[0]`` with each other one, nested at most 8 deep)."""
    from portable_core import history
    from portable_core.storage import StorageError

    low = None
    for oid in ids:
        c = _find(objects, oid)
        if c is not None and (low is None or c.height < low):
            low = c.height
    if depth <= 8:
        for other in ids[1:]:
            try:
                inner = history.lcas(objects, ids[0], other)
            except StorageError:
                continue
            if inner:
                h = _lowest(objects, inner, depth + 1)
                if h is not None and (low is None or h < low):
                    low = h
    return low


def _keep_below(objects, head, keep, floor, kept):
    """Add to ``kept`` (id -> height) the ancestors of ``head`` within ``keep - 1``
    links or at least as high as ``floor``."""
    import heapq

    first = _find(objects, head)
    dist = {head: 0}
    heap = [(-first.height, head, first)]
    while heap:
        _, oid, c = heapq.heappop(heap)
        d = dist.pop(oid)
        if d >= keep and (floor is None or c.height < floor):
            continue  # every child has been seen: ``d`` is its distance
        kept[oid] = c.height
        for p in c.parents:
            if p in dist:
                if d + 1 < dist[p]:
                    dist[p] = d + 1
            else:
                pc = _find(objects, p)
                if pc is not None:
                    dist[p] = d + 1
                    heapq.heappush(heap, (-pc.height, p, pc))


def _find(objects, oid):
    """Commit ``oid``, or None when it is missing or damaged (compaction copies
    what it can read; fsck reports the rest)."""
    from portable_core.history import find_commit
    from portable_core.storage import StorageError

    try:
        return find_commit(objects, oid)
    except StorageError:
        return None
