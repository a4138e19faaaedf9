"""Tree operations a device seldom needs, loaded on first use (see docs/DESIGN.md
"Memory"): diffs, three-way merges, copies between stores and ``observe``. Their
public names are importable from portable_core.tree as well. The methods of
``Tree`` that reading and writing values never call (``list``, ``walk``, ``diff``,
``find_tree``, ``add_tree``, ...) are defined here too and attached to ``Tree`` when
this module is loaded (``Tree.__getattr__`` loads it on the first use of one).
"""

from portable_core.conflict import MISSING, Conflict, is_conflict
from portable_core.node import (
    KIND_CONTENTS,
    KIND_NODE,
    Inner,
    TreeError,
    all_entries,
    contents_entry,
    delta,
    parse_node,
)
from portable_core.objects import TAG_NODE, decode_object, to_hex
from portable_core.tree import (
    EMPTY_TREE,
    KIND_STR,
    Tree,
    _join,
    _subtree,
    _value,
    path_str,
    parse_path,
)


def _diff(a, b, prefix, out):
    # frames [a, b, path, sorted changes or None, next index]; no recursion
    stack = [[a, b, prefix, None, 0]]
    while stack:
        frame = stack[-1]
        a = frame[0]
        b = frame[1]
        changes = frame[3]
        if changes is None:
            if a.hash() == b.hash():
                stack.pop()
                continue
            a = frame[0] = a._loaded()
            b = frame[1] = b._loaded()
            changes = frame[3] = []
            delta(a._store, a._root, b._store, b._root, 0, changes)
            changes.sort(key=_first)
        i = frame[4]
        if i >= len(changes):
            stack.pop()
            continue
        frame[4] = i + 1
        name, ea, eb = changes[i]
        path = _join(frame[2], name)
        ka = None if ea is None else ea[1]
        kb = None if eb is None else eb[1]
        if ka == KIND_NODE and kb == KIND_NODE:
            stack.append([a._sub(ea), b._sub(eb), path, None, 0])
            continue
        if ka == KIND_CONTENTS and kb == KIND_CONTENTS:
            out.append((path, "updated", _value(a._store, ea), _value(b._store, eb)))
            continue
        # one side absent or the kinds differ: "x" sorts before "x/..."
        if ka == KIND_CONTENTS:
            out.append((path, "removed", _value(a._store, ea), MISSING))
        if kb == KIND_CONTENTS:
            out.append((path, "added", MISSING, _value(b._store, eb)))
        if ka == KIND_NODE:
            for p, v in _walk(a._sub(ea), path):
                out.append((p, "removed", v, MISSING))
        if kb == KIND_NODE:
            for p, v in _walk(b._sub(eb), path):
                out.append((p, "added", MISSING, v))


def _first(item):
    return item[0]


def _copy(src, dst, oid, stats):
    # copy object ``oid`` and everything below it from ``src`` to ``dst``, children
    # first, skipping what ``dst`` already has; no recursion
    stack = [(oid, None)]
    while stack:
        oid, raw = stack.pop()
        if dst.mem(oid):
            continue
        if raw is None:
            raw = src.get(oid) if src is not None else None
            if raw is None:
                raise TreeError("missing object %s" % to_hex(oid))
            if raw[0] == TAG_NODE:
                stack.append((oid, raw))
                for child in _node_children(oid, raw):
                    stack.append((child, None))
                continue
        dst.add(raw)
        stats[0] += len(raw)
        stats[1] += 1


def _node_children(oid, raw):
    # the ids a stored node refers to
    try:
        body = decode_object(raw)[1]
        node = parse_node(body, body[1] if len(body) == 4 else 0)
    except (ValueError, TypeError, IndexError) as exc:
        raise TreeError("malformed node %s: %s" % (to_hex(oid), exc))
    if isinstance(node, Inner):
        return [slot for slot in node.slots if slot is not None]  # parse_node: ids
    return [e[2] for e in node.entries]


# -- merging ---------------------------------------------------------------


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
    vo = _value(o._store, eo) if eo is not None and eo[1] == KIND_CONTENTS else MISSING
    va = MISSING if ea is None else _value(a._store, ea)
    vb = MISSING if eb is None else _value(b._store, eb)
    value = f(vo, va, vb)
    if is_conflict(value):
        return value.at(path)
    if value is MISSING:
        return None
    return contents_entry(steps[-1], value)


class Subtree:
    """What ``observe`` reports for a path holding a subtree: its id."""

    def __init__(self, oid):
        self.id = oid

    def __eq__(self, other):
        return isinstance(other, Subtree) and other.id == self.id

    def __repr__(self):
        return "Subtree(%s)" % to_hex(self.id)[:12]


def observe(tree, path):
    """Return what ``path`` holds in ``tree``: its value, a ``Subtree`` (the root
    path always is one) or MISSING. Loads only the nodes on the path."""
    if not parse_path(path):
        return Subtree(tree.hash())
    sub = tree.find_tree(path)
    if sub is not None:
        return Subtree(sub.hash())
    return tree.find(path)


def same_observation(a, b):
    """Return True when two ``observe`` results are the same (type-strict values)."""
    if isinstance(a, Subtree) or isinstance(b, Subtree):
        return a == b
    if a is MISSING or b is MISSING:
        return a is b
    from portable_core.merge import values_equal

    return values_equal(a, b)


# -- the methods of Tree loaded on first use ------------------------------------


class TreeMethods:
    """Methods of ``Tree`` (portable_core.tree), attached to it by ``_attach``."""

    def equal(self, other):
        """Return True when ``other`` is a Tree with the same contents (same hash)."""
        return isinstance(other, Tree) and self.hash() == other.hash()

    def find_tree(self, path):
        """Return the subtree at ``path`` (the tree itself for the root), or None when
        there is no subtree there."""
        steps = parse_path(path)
        if not steps:
            return self
        t, e = self._entry(steps)
        if e is None or e[1] != KIND_NODE:
            return None
        return t._sub(e)

    def kind(self, path):
        """Return ``"contents"``, ``"node"`` or None for what is at ``path``; the root
        is always a ``"node"``."""
        steps = parse_path(path)
        if not steps:
            return "node"
        e = self._entry(steps)[1]
        return None if e is None else KIND_STR[e[1]]

    def mem(self, path):
        """Return True when contents are stored at ``path``."""
        return self.kind(path) == "contents"

    def mem_tree(self, path):
        """Return True when a subtree is at ``path`` (always True for the root)."""
        return self.kind(path) == "node"

    def list(self, path=""):
        """Return the sorted list of ``(step, kind)`` of the directory at ``path``
        (kind ``"contents"`` or ``"node"``); [] when there is no directory there.
        Loads every node of that one directory."""
        t = self.find_tree(path)
        if t is None:
            return []
        return all_entries(t._store, t._node(), 0, _step_kind)

    def add_tree(self, path, tree):
        """Return a tree with ``tree`` grafted at ``path`` (the root: return ``tree``).
        Adding an empty tree removes ``path``."""
        if not isinstance(tree, Tree):
            raise TypeError("add_tree needs a Tree, got %r" % (tree,))
        steps = parse_path(path)
        if tree.is_empty():
            return self.remove(steps)
        if not steps:
            return tree
        return self._update(steps, (steps[-1], KIND_NODE, tree._ref_for(self._store)))

    def iter_contents(self, prefix=""):
        """Yield ``(path, value)`` for every contents at or under ``prefix``, lazily,
        ordered by path (one directory's entry list in RAM per level)."""
        steps = parse_path(prefix)
        if not steps:
            yield from _walk(self, "")
            return
        t, e = self._entry(steps)
        if e is None:
            return
        if e[1] == KIND_CONTENTS:
            yield path_str(steps), _value(t._store, e)
        else:
            yield from _walk(t._sub(e), path_str(steps))

    def walk(self):
        """Yield ``(path, value)`` for every contents of the tree (see iter_contents)."""
        return self.iter_contents("")

    def diff(self, other):
        """Return the list of ``(path, change, old, new)`` turning this tree into
        ``other``, one per contents path, ordered by path; ``change`` is ``"added"``
        (old is MISSING), ``"removed"`` (new is MISSING) or ``"updated"``. Subtrees
        (and parts of split directories) with equal ids are skipped unread."""
        out = []
        _diff(self, other, "", out)
        return out


def _step_kind(entry):
    return (entry[0], KIND_STR[entry[1]])


def _walk(tree, prefix):
    # depth first, one sorted entry list per open directory (no recursion)
    stack = [[tree._store, all_entries(tree._store, tree._node(), 0), 0, prefix]]
    while stack:
        frame = stack[-1]
        entries = frame[1]
        i = frame[2]
        if i >= len(entries):
            stack.pop()
            continue
        frame[2] = i + 1
        e = entries[i]
        store = frame[0]
        path = _join(frame[3], e[0])
        if e[1] == KIND_CONTENTS:
            yield path, _value(store, e)
        else:
            sub = _subtree(store, e)
            stack.append([sub._store, all_entries(sub._store, sub._node(), 0), 0, path])


def _attach():
    for name in dir(TreeMethods):
        if name[:2] != "__":
            setattr(Tree, name, getattr(TreeMethods, name))


_attach()
