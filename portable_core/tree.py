"""Immutable, lazily loaded, path-addressed trees (Irmin's ``Tree``).

A ``Tree`` is a directory: a map from steps to contents (CBOR values) and to
subtrees. Every operation returns a new tree and shares everything it did not
change. A tree opened with ``Tree.of_node`` loads nothing until asked; ``find``
loads only the nodes on the path (one per level of the directory's node split, see
portable_core/node.py); an edited tree holds in RAM only the nodes it rewrote, the
rest stays referenced by id. ``write`` stores the new objects and returns the root
id; reopen with ``Tree.of_node`` to drop the in-memory spine.

Paths are ``"a/b/c"`` or a tuple/list of steps; ``""`` / ``()`` is the root.
Absent contents are reported as ``MISSING`` (conflict.py), never None (a stored
CBOR null). Paths in results (walk, diff, conflicts) are ``"/"``-joined strings,
ordered by their tuple of steps.
"""

from portable_core.compat import IS_MICROPYTHON
from portable_core.missing import MISSING
from portable_core.node import (
    BUCKETS,
    EMPTY,
    EMPTY_ID,
    KIND_CONTENTS,
    KIND_NODE,
    Flat,
    Inner,
    TreeError,  # noqa: F401 (re-exported)
    check_step,
    contents_entry,
    delete,
    encode_node,
    entry_at,
    entry_id,
    insert,
    load,
    lookup,
    node_id,
    read_contents,
    slot_at,
)
from portable_core.objects import decode_object, to_hex

KIND_STR = ("contents", "node")


def parse_path(path):
    """Return the tuple of validated steps of ``path`` (a ``"/"``-separated str or a
    tuple/list of steps); ValueError on a bad path or step."""
    if isinstance(path, str):
        if not path:
            return ()
        steps = path.split("/")
    elif isinstance(path, (tuple, list)):
        steps = path
    else:
        raise ValueError("a path is a str or a tuple/list of steps, got %r" % (path,))
    for step in steps:
        check_step(step, path)
    return tuple(steps)


def path_str(steps):
    """Return the ``"/"``-joined form of a tuple of steps."""
    return "/".join(steps)


def _join(prefix, name):
    return prefix + "/" + name if prefix else name


class Tree:
    """An immutable directory tree; build with ``Tree.empty()`` or ``Tree.of_node``."""

    last_write_bytes = 0  # bytes of new objects stored by the last ``write``
    last_write_objects = 0  # number of new objects stored by the last ``write``

    def __init__(self, store, root):
        # internal: ``root`` is a node id (bytes, read from ``store``) or a node
        self._store = store
        self._root = root

    @staticmethod
    def empty():
        """Return the empty tree."""
        return Tree(None, EMPTY)

    @staticmethod
    def of_node(objects, node_id):
        """Return the tree whose root node is ``node_id`` in ObjectStore ``objects``.
        Lazy: nothing is read until an operation needs it."""
        if isinstance(node_id, (bytearray, memoryview)):
            node_id = bytes(node_id)
        if not isinstance(node_id, bytes) or len(node_id) != 32:
            raise ValueError("a node id is 32 bytes, got %r" % (node_id,))
        return Tree(objects, node_id)

    def _node(self):
        root = self._root
        if isinstance(root, bytes):
            return load(self._store, root, 0)
        return root

    def _loaded(self):
        # this tree with its root node read (once, for several uses)
        if isinstance(self._root, bytes):
            return Tree(self._store, self._node())
        return self

    def _sub(self, entry):
        return _subtree(self._store, entry)

    def is_empty(self):
        """Return True when the tree has no entries (reads nothing)."""
        root = self._root
        if isinstance(root, bytes):
            return root == EMPTY_ID
        return isinstance(root, Flat) and not root.items

    def hash(self):
        """Return the id the root node has (or would have) once written: 32 bytes.
        Needs no store; only in-memory nodes are encoded (each once)."""
        root = self._root
        if isinstance(root, bytes):
            return root
        if root._id is None:
            for n, _ in _post_order(root, None, _has_id):
                node_id(n)  # children first: no deep recursion
        return node_id(root)

    def __eq__(self, other):
        return isinstance(other, Tree) and self.hash() == other.hash()

    def __ne__(self, other):
        return not self.__eq__(other)

    def __getattr__(self, name):
        # the methods reading and writing values never call (listing, walks,
        # diffs, grafts, ...) are in treeops.py, attached to Tree on first use
        # (see docs/DESIGN.md "Memory")
        import sys

        if name[:2] != "__" and "portable_core.treeops" not in sys.modules:
            import gc

            gc.collect()  # its lasting objects fill holes low in the heap
            from portable_core import treeops  # noqa: F401 (importing it attaches them)

            return getattr(self, name)
        raise AttributeError(name)

    def __hash__(self):
        h = self.hash()
        return (h[0] << 16) | (h[1] << 8) | h[2]

    def __repr__(self):
        if isinstance(self._root, bytes):
            return "<Tree %s>" % to_hex(self._root)[:16]
        return "<Tree (in memory)>"

    def _entry(self, steps):
        # (tree holding the last step, entry or None); steps is non-empty
        t = self
        for step in steps[:-1]:
            e = lookup(t._store, t._node(), step)
            if e is None or e[1] != KIND_NODE:
                return None, None
            t = t._sub(e)
        return t, lookup(t._store, t._node(), steps[-1])

    def find(self, path):
        """Return the value stored at ``path``, or MISSING when there is no contents
        there (absent, or a subtree). Reads only the nodes on the path."""
        steps = parse_path(path)
        if not steps:
            return MISSING
        t, e = self._entry(steps)
        if e is None or e[1] != KIND_CONTENTS:
            return MISSING
        return _value(t._store, e)

    def get(self, path):
        """Return the value stored at ``path``; raise KeyError(path) if there is none."""
        value = self.find(path)
        if value is MISSING:
            raise KeyError(path)
        return value

    def _update(self, steps, entry):
        # put ``entry`` (its name is replaced by the last step) at ``steps``, or
        # remove what is there when ``entry`` is None; returns self if unchanged.
        # Iterative (down the path, then back up): the firmware's C stack is small.
        trees = []
        nodes = []
        t = self
        last = len(steps) - 1
        for i in range(last):
            node = t._node()
            trees.append(t)
            nodes.append(node)
            e = lookup(t._store, node, steps[i])
            if e is not None and e[1] == KIND_NODE:
                t = t._sub(e)
            elif entry is None:
                return self
            else:
                t = EMPTY_TREE
        store = t._store
        node = t._node()
        if entry is None:
            new = delete(store, node, steps[last], 0)[0]
        else:
            new = insert(store, node, (steps[last],) + entry[1:], 0)[0]
        if new is node:
            return self
        sub = Tree(store, new)
        for i in range(last - 1, -1, -1):
            store = trees[i]._store
            node = nodes[i]
            if sub.is_empty():
                new = delete(store, node, steps[i], 0)[0]
            else:
                new = insert(store, node, (steps[i], KIND_NODE, sub._ref_for(store)), 0)[0]
            if new is node:
                return self
            sub = Tree(store, new)
        return sub

    def _ref_for(self, store):
        # how a parent reading from ``store`` refers to this tree
        if isinstance(self._root, bytes) and self._store is store:
            return self._root
        return self

    def add(self, path, value):
        """Return a tree with ``value`` (any CBOR value) stored at ``path`` (not the
        root). Missing directories are created; contents or a subtree already at
        ``path`` or at a prefix of it are replaced."""
        steps = parse_path(path)
        if not steps:
            raise ValueError("cannot store contents at the root path")
        return self._update(steps, contents_entry(steps[-1], value))

    def remove(self, path):
        """Return a tree without what is at ``path`` (contents or subtree; the root:
        the empty tree). Directories left empty vanish. Removing nothing is a no-op."""
        steps = parse_path(path)
        if not steps:
            return EMPTY_TREE
        return self._update(steps, None)

    def write(self, objects, release=False):
        """Store every object of this tree that ``objects`` lacks and return the root
        node id. Only in-memory nodes and contents are encoded; subtrees already
        known to be in ``objects`` are skipped (objects referenced from another store
        are copied). Sets ``last_write_bytes`` / ``last_write_objects`` to what was
        new. With ``release``, in-memory nodes of a tree read from ``objects`` are
        dropped once written (their parents refer to them by id, read back when
        needed): less RAM while writing a tree that is not used afterwards."""
        stats = [0, 0]
        oid = _write_tree(self, objects, stats, release)
        self.last_write_bytes = stats[0]
        self.last_write_objects = stats[1]
        return oid


EMPTY_TREE = Tree(None, EMPTY)


def _subtree(store, entry):
    ref = entry[2]
    if isinstance(ref, bytes):
        return Tree(store, ref)
    return ref


def _value(store, entry):
    if isinstance(entry[2], bytearray):  # held in RAM: a fresh copy of the value
        return decode_object(entry[2])[1]
    if isinstance(entry[2], list):  # a large byte string held in RAM (node.large_pieces)
        return entry[2][1]
    return read_contents(store, entry[2])


# -- writing ---------------------------------------------------------------


def _put(objects, raw, oid, stats, base=None, base_raw=None):
    if not objects.mem(oid):
        if base is None or base == oid:
            objects.add(bytes(raw))
        elif base_raw is None:
            objects.add(bytes(raw), base)
        else:
            objects.add(bytes(raw), base, base_raw)
        stats[0] += len(raw)
        stats[1] += 1


def _has_id(node):
    return node._id is not None


def _children(node, src):
    # the in-memory child nodes of ``node`` (whose lazy children are in ``src``),
    # each with the store of its own lazy children
    out = []
    if isinstance(node, Inner):
        for slot in node.slots:
            if slot is not None and not isinstance(slot, (bytes, int)):  # a node
                out.append((slot, src))
    else:
        for e in node.items:  # a subtree in memory is never an offset in raw
            if type(e) is not int:
                ref = e[2]
                if isinstance(ref, Tree) and not isinstance(ref._root, bytes):
                    out.append((ref._root, ref._store))
    return out


def _post_order(node, src, done):
    # yield (node, store) for the in-memory nodes from ``node`` down, children
    # before parents, pruning below nodes for which ``done(node)`` is true
    if done(node):
        return
    stack = [(node, src, False)]
    while stack:
        n, s, expanded = stack.pop()
        if expanded:
            yield n, s
            continue
        stack.append((n, s, True))
        for child in _children(n, s):
            if not done(child[0]):
                stack.append((child[0], child[1], False))


def _write_tree(tree, objects, stats, release=False):
    root = tree._root
    if isinstance(root, bytes):
        if tree._store is not objects:
            _copy(tree._store, objects, root, stats)
        return root

    def done(node):
        return node._stored is objects

    for node, src in _post_order(root, tree._store, done):
        if not done(node):  # a node shared by two parents comes twice
            _write_node(node, src, objects, stats, release)
    return node_id(root)


def _write_node(node, src, objects, stats, release=False):
    # store ``node``, its contents and what it refers to in another store; its
    # in-memory children are already written (``release``: drop them)
    if release and src is objects:
        _forget_children(node, objects)
    ids = None
    if isinstance(node, Inner):
        if src is not objects:
            for i in range(len(node.slots)):
                slot = slot_at(node, i)
                if isinstance(slot, bytes):
                    _copy(src, objects, slot, stats)
    else:
        ids = []
        items = node.items
        for k in range(len(items)):
            if type(items[k]) is int:  # an entry as stored: its id is in raw
                if src is not objects:
                    _copy(src, objects, entry_at(node, k)[2], stats)
                ids.append(None)
                continue
            ref = items[k][2]
            if isinstance(ref, bytearray):  # contents held in RAM
                oid = _sha(ref)
                _put(objects, ref, oid, stats)
            elif isinstance(ref, list):  # a large byte string, in pieces (node.large_pieces)
                oid = entry_id(items[k])
                if not objects.mem(oid):
                    objects.add_pieces(ref)
                    stats[0] += len(ref[0]) + len(ref[1])
                    stats[1] += 1
            elif isinstance(ref, bytes):
                oid = ref
                if src is not objects:
                    _copy(src, objects, ref, stats)
            elif isinstance(ref._root, bytes):
                oid = ref._root
                if ref._store is not objects:
                    _copy(ref._store, objects, oid, stats)
            else:
                oid = node_id(ref._root)
            ids.append(oid)
    raw = encode_node(node, ids)
    ids = None
    if node._id is None:
        node._id = _sha(raw)
    # a node edited from a stored one shares that node's bytes: the base's
    base_raw = node.raw if node._base is not None else None
    _put(objects, raw, node._id, stats, node._base, base_raw)
    if node is not EMPTY:  # the shared empty node keeps no store alive
        node._stored = objects


def _forget_children(node, objects):
    # refer to the children of ``node`` already written to ``objects`` (which
    # ``node`` reads its lazy children from) by id: the same node, and the RAM of
    # those children (their kept raw bytes) is free while ``node`` is written
    if isinstance(node, Inner):
        slots = node.slots
        for i in range(BUCKETS):
            child = slots[i]
            if child is not None and type(child) is not int and not isinstance(child, bytes):
                if child._stored is objects:
                    slots[i] = child._id
        return
    items = node.items
    for k in range(len(items)):
        e = items[k]
        if type(e) is not int and isinstance(e[2], Tree):
            root = e[2]._root
            if not isinstance(root, bytes) and root._stored is objects:
                items[k] = (e[0], e[1], root._id)


def _copy(src, dst, oid, stats):
    # copy object ``oid`` and everything below it from ``src`` to ``dst``
    from portable_core import treeops

    treeops._copy(src, dst, oid, stats)


def _sha(raw):
    import hashlib

    return hashlib.sha256(raw).digest()


def __getattr__(name):
    # merge_trees, observe, same_observation and Subtree live in treeops.py, which
    # is loaded only when one of them is first asked for
    if name in ("merge_trees", "observe", "same_observation", "Subtree"):
        from portable_core import treeops

        return getattr(treeops, name)
    raise AttributeError(name)


if not IS_MICROPYTHON:  # CPython has the room: every method there from the start
    from portable_core import treeops  # noqa: F401,E402
