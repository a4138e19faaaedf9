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

Writing a tree's new nodes is in tree_write.py (``hash`` and ``write`` call it),
walks and diffs in tree_walk.py (``iter_contents``, ``walk`` and ``diff`` call
them), three-way merges in tree_merge.py, ``observe`` in observe.py and copies
between stores in tree_copy.py: a device that only gets and sets never loads them.
"""

from portable_core.cbor import CBORError
from portable_core.missing import MISSING
from portable_core.node import (
    EMPTY,
    EMPTY_ID,
    KIND_CONTENTS,
    KIND_NODE,
    Flat,
    TreeError,  # noqa: F401 (re-exported)
    contents_entry,
    entry_value,
    load,
    lookup,
    node_id,
)
from portable_core.objects import to_hex
from portable_core.paths import parse_path, path_str  # noqa: F401 (re-exported)

KIND_STR = ("contents", "node")


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
            from portable_core.tree_write import hash_nodes

            hash_nodes(root)
        return node_id(root)

    def __eq__(self, other):
        """Return True when ``other`` is a Tree with the same contents (same hash);
        ``!=`` is its negation on both runtimes."""
        return isinstance(other, Tree) and self.hash() == other.hash()

    equal = __eq__  # Irmin's Tree.equal

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
        there (absent, or a subtree). Reads only the nodes on the path. ValueError
        naming a bad path; TreeError if an object on the path is missing or
        malformed."""
        steps = parse_path(path)
        if not steps:
            return MISSING
        t, e = self._entry(steps)
        if e is None or e[1] != KIND_CONTENTS:
            return MISSING
        return entry_value(t._store, e)

    def get(self, path):
        """Return the value stored at ``path``; raise KeyError(path) if there is none
        (other errors: as ``find``)."""
        value = self.find(path)
        if value is MISSING:
            raise KeyError(path)
        return value

    def read_into(self, path, buf):
        """Copy the byte-string value at ``path`` into ``buf`` (a bytearray or
        writable memoryview) and return its length, with no RAM of the value's
        size beyond ``buf`` on the flash store; errors: see
        portable_core/read_into.py (KeyError, BufferTooSmall, NotBytes, ...)."""
        from portable_core.read_into import read_into

        return read_into(self, path, buf)

    def _update(self, steps, entry):
        # put ``entry`` (its name is replaced by the last step) at ``steps``, or
        # remove what is there when ``entry`` is None; returns self if unchanged.
        # Iterative (down the path, then back up): the firmware's C stack is small.
        # The edit algorithms load on the first edit (a device that only reads
        # never needs them).
        from portable_core.node_edit import delete, insert

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
        ``path`` or at a prefix of it are replaced. ValueError on a bad path or the
        root; CBORError (a ValueError) naming the path and the value's type when
        the value has no CBOR encoding or its encoding is over
        ``cbor.DEFAULT_MAX_SIZE`` bytes (no reader would accept it)."""
        steps = parse_path(path)
        if not steps:
            raise ValueError("cannot store contents at the root path")
        try:
            entry = contents_entry(steps[-1], value)
        except CBORError as exc:
            raise CBORError("cannot store the %s at %r: %s" % (type(value).__name__, path_str(steps), exc))
        return self._update(steps, entry)

    def remove(self, path):
        """Return a tree without what is at ``path`` (contents or subtree; the root:
        the empty tree). Directories left empty vanish. Removing nothing is a no-op.
        Errors: as ``find``."""
        steps = parse_path(path)
        if not steps:
            return EMPTY_TREE
        return self._update(steps, None)

    def find_tree(self, path):
        """Return the subtree at ``path`` (the tree itself for the root), or None when
        there is no subtree there (errors: as ``find``)."""
        steps = parse_path(path)
        if not steps:
            return self
        t, e = self._entry(steps)
        if e is None or e[1] != KIND_NODE:
            return None
        return t._sub(e)

    def kind(self, path):
        """Return ``"contents"``, ``"node"`` or None for what is at ``path``; the root
        is always a ``"node"`` (errors: as ``find``)."""
        steps = parse_path(path)
        if not steps:
            return "node"
        e = self._entry(steps)[1]
        return None if e is None else KIND_STR[e[1]]

    def mem(self, path):
        """Return True when contents are stored at ``path`` (errors: as ``find``)."""
        return self.kind(path) == "contents"

    def mem_tree(self, path):
        """Return True when a subtree is at ``path`` (always True for the root;
        errors: as ``find``)."""
        return self.kind(path) == "node"

    def list(self, path="", offset=0, length=None):
        """Return the sorted list of ``(step, kind)`` of the directory at ``path``
        (kind ``"contents"`` or ``"node"``); [] when there is no directory there.
        With ``offset`` / ``length`` (Irmin's pagination): only the entries from the
        ``offset``-th, at most ``length`` of them (None: to the end); ValueError
        if either is not a non-negative int. Loads every node of that one
        directory."""
        from portable_core.node_edit import all_entries

        for n in (offset, length):
            if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 0):
                raise ValueError("list offset and length are ints >= 0, got %r" % (n,))
        t = self.find_tree(path)
        if t is None:
            return []
        out = all_entries(t._store, t._node(), 0, _step_kind)
        if offset or length is not None:
            out = out[offset:] if length is None else out[offset : offset + length]
        return out

    def add_tree(self, path, tree):
        """Return a tree with ``tree`` grafted at ``path`` (the root: return ``tree``).
        Adding an empty tree removes ``path``. TypeError if ``tree`` is not a Tree;
        other errors: as ``find``."""
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
        ordered by path (one directory's entry list in RAM per level). Errors: as
        ``find``."""
        from portable_core.tree_walk import iter_contents

        return iter_contents(self, prefix)

    def walk(self):
        """Yield ``(path, value)`` for every contents of the tree (see iter_contents)."""
        from portable_core.tree_walk import iter_contents

        return iter_contents(self, "")

    def diff(self, other):
        """Return the list of ``(path, change, old, new)`` turning this tree into
        ``other``, one per contents path, ordered by path; ``change`` is ``"added"``
        (old is MISSING), ``"removed"`` (new is MISSING) or ``"updated"``. Subtrees
        (and parts of split directories) with equal ids are skipped unread. TreeError
        if an object is missing or malformed."""
        from portable_core.tree_walk import diff

        return diff(self, other)

    def write(self, objects, release=False):
        """Store every object of this tree that ``objects`` lacks and return the root
        node id. Only in-memory nodes and contents are encoded; subtrees already
        known to be in ``objects`` are skipped (objects referenced from another store
        are copied). Sets ``last_write_bytes`` / ``last_write_objects`` to what was
        new. With ``release``, in-memory nodes of a tree read from ``objects`` are
        dropped once written (their parents refer to them by id, read back when
        needed): less RAM while writing a tree that is not used afterwards. TreeError
        if an object referenced from another store is missing there; a backend's
        StorageError (device full, ...) propagates, the objects already stored
        staying unreferenced."""
        from portable_core.tree_write import write_tree

        stats = [0, 0]
        oid = write_tree(self, objects, stats, release)
        self.last_write_bytes = stats[0]
        self.last_write_objects = stats[1]
        return oid


EMPTY_TREE = Tree(None, EMPTY)


def _subtree(store, entry):
    ref = entry[2]
    if isinstance(ref, bytes):
        return Tree(store, ref)
    return ref


def _step_kind(entry):
    return (entry[0], KIND_STR[entry[1]])
