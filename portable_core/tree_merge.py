"""Three-way merges of trees (Irmin's ``Tree.merge``): ``merge_trees``."""

from portable_core.conflict import MISSING, Conflict, is_conflict
from portable_core.node import KIND_CONTENTS, KIND_NODE, TreeError, contents_entry, entry_value
from portable_core.node_edit import delta
from portable_core.paths import path_str
from portable_core.tree import EMPTY_TREE, Tree


def _as_tree(objects, t):
    if t is None:
        return EMPTY_TREE
    if isinstance(t, Tree):
        return t
    return Tree.of_node(objects, t)


def merge_trees(objects, old, a, b, merge_for_path):
    """Three-way merge of trees ``a`` and ``b`` from their common ancestor ``old``
    (None: the empty tree). Each of old/a/b is a Tree or a node id in ``objects``.
    ``merge_for_path(path)`` returns the function ``f(old, a, b)`` merging the values
    at ``path`` (any of them may be MISSING; it returns a value, MISSING to remove,
    or a Conflict). Returns the merged Tree or the first Conflict (by path), whose
    ``path`` names where it happened.

    Per directory (and per part of a split directory): a side whose id equals
    ``old``'s yields the other side without being read; only the names changed on
    both sides are merged. As in Irmin, a path changed on both sides is merged even
    when both made the same change (``f`` is called, so concurrent counter
    increments add up; a subtree equal on both sides is descended along its changed
    paths only). Contents on one side and a subtree on the other, both changed,
    conflict. Deterministic, and symmetric in ``a``/``b`` when every ``f`` is.
    """
    o = _as_tree(objects, old)
    return _merge(o, _as_tree(objects, a), _as_tree(objects, b), (), merge_for_path)


def _changes(x, y):
    out = []
    delta(x._store, x._root, y._store, y._root, 0, out)
    found = {}
    for name, ex, ey in out:
        found[name] = (ex, ey)
    return found


def _merge_open(o, a, b, steps, stack):
    # the merged tree when one side is unchanged; else push the directory's frame
    # [o, a, b, steps, names changed in b, next index, changes in a, changes in b,
    # result so far] and return None
    ho = o.hash()
    if b.hash() == ho:
        return a
    if a.hash() == ho:
        return b
    o = o._loaded()
    a = a._loaded()
    b = b._loaded()
    db = _changes(o, b)
    names = sorted(db)
    stack.append([o, a, b, steps, names, 0, _changes(o, a), db, a])
    return None


def _merge(o, a, b, steps, merge_for_path):
    # depth first over the directories changed on both sides, with an explicit
    # stack (the firmware's C stack holds only a few dozen Python calls)
    stack = []
    done = _merge_open(o, a, b, steps, stack)
    if done is not None:
        return done
    while True:
        frame = stack[-1]
        if done is not None:  # a subdirectory of this frame is merged
            if is_conflict(done):
                return done
            name = frame[4][frame[5] - 1]
            result = frame[8]
            entry = None if done.is_empty() else (name, KIND_NODE, done._ref_for(result._store))
            frame[8] = result._update((name,), entry)
            done = None
        i = frame[5]
        if i >= len(frame[4]):
            stack.pop()
            if not stack:
                return frame[8]
            done = frame[8]
            continue
        frame[5] = i + 1
        o, a, b, steps = frame[0], frame[1], frame[2], frame[3]
        name = frame[4][i]
        eo, eb = frame[7][name]
        result = frame[8]
        if name not in frame[6]:  # changed in b only
            frame[8] = result._update((name,), _export(b, eb, result._store))
            continue
        ea = frame[6][name][1]
        ka = None if ea is None else ea[1]
        kb = None if eb is None else eb[1]
        path = steps + (name,)
        if ka != KIND_NODE and kb != KIND_NODE:  # contents (or absent) on both sides
            merged = _merge_values(o, eo, a, ea, b, eb, path, merge_for_path)
            if is_conflict(merged):
                return merged
            frame[8] = result._update((name,), merged)
        elif ka != KIND_CONTENTS and kb != KIND_CONTENTS:  # subtrees (or absent)
            so = o._sub(eo) if eo is not None and eo[1] == KIND_NODE else EMPTY_TREE
            sa = EMPTY_TREE if ea is None else a._sub(ea)
            sb = EMPTY_TREE if eb is None else b._sub(eb)
            # either the merged subtree at once (one side unchanged), applied to this
            # frame next turn, or the subdirectory's frame pushed, whose result
            # comes back as ``done`` when it is popped
            done = _merge_open(so, sa, sb, path, stack)
        else:
            return Conflict("contents on one side, a subtree on the other", path_str(path))


def _export(tree, entry, store):
    # ``entry`` of ``tree`` made usable in a directory reading from ``store``
    if entry is None or tree._store is store:
        return entry
    ref = entry[2]
    if not isinstance(ref, bytes):
        return entry
    if entry[1] == KIND_NODE:
        return (entry[0], KIND_NODE, Tree(tree._store, ref))
    return (entry[0], KIND_CONTENTS, bytearray(_raw(tree._store, ref)))


def _raw(store, oid):
    raw = store.get(oid) if store is not None else None
    if raw is None:
        raise TreeError("missing contents object %s" % to_hex(oid))
    return raw


def _merge_values(o, eo, a, ea, b, eb, steps, merge_for_path):
    # the entry merging contents (or absence) ``ea``/``eb`` from ``eo``, or a Conflict
    path = path_str(steps)
    f = merge_for_path(path)
    vo = entry_value(o._store, eo) if eo is not None and eo[1] == KIND_CONTENTS else MISSING
    va = MISSING if ea is None else entry_value(a._store, ea)
    vb = MISSING if eb is None else entry_value(b._store, eb)
    value = f(vo, va, vb)
    if is_conflict(value):
        return value.at(path)
    if value is MISSING:
        return None
    return contents_entry(steps[-1], value)
