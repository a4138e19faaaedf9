"""Writing a tree (``Tree.write`` and ``Tree.hash`` call this): the in-memory nodes
are encoded children first, each stored once, contents held in RAM stored beside
them, objects referenced from another store copied (tree_copy.py). A device that
only reads never loads it."""

import hashlib

from portable_core.node import EMPTY, Inner, encode_node, entry_id, node_id

# (names used only on rare paths are imported there: a module global costs heap
# on MicroPython, docs/DESIGN.md "Memory")


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
                if not isinstance(ref, (bytes, bytearray, list)) and not isinstance(ref._root, bytes):  # a Tree
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


def hash_nodes(root):
    """Compute the id of the in-memory node ``root`` and of every in-memory node
    below it, children first (no deep recursion)."""
    for n, _ in _post_order(root, None, lambda node: node._id is not None):
        node_id(n)


def write_tree(tree, objects, stats, release=False):
    """Store every object of Tree ``tree`` that ObjectStore ``objects`` lacks and
    return the root node id (see ``Tree.write``); add [bytes, objects] written to
    ``stats``."""
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
            from portable_core.node import slot_at

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
                    from portable_core.node import entry_at

                    _copy(src, objects, entry_at(node, k)[2], stats)
                ids.append(None)
                continue
            ref = items[k][2]
            if isinstance(ref, bytearray):  # contents held in RAM
                oid = hashlib.sha256(ref).digest()
                _put(objects, ref, oid, stats)
            elif isinstance(ref, list):  # a large byte string, in pieces (node.contents_entry)
                oid = entry_id(items[k])
                if not objects.mem(oid):
                    add = getattr(objects, "add_pieces", None)  # optional (storage.py)
                    if add is None:
                        objects.add(ref[0] + ref[1])
                    else:
                        add(ref)
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
        node._id = hashlib.sha256(raw).digest()
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
        for i in range(len(slots)):
            child = slots[i]
            if child is not None and type(child) is not int and not isinstance(child, bytes):
                if child._stored is objects:
                    slots[i] = child._id
        return
    items = node.items
    for k in range(len(items)):
        e = items[k]
        if type(e) is not int and not isinstance(e[2], (bytes, bytearray, list)):  # a Tree
            root = e[2]._root
            if not isinstance(root, bytes) and root._stored is objects:
                items[k] = (e[0], e[1], root._id)


def _copy(src, dst, oid, stats):
    # copy object ``oid`` and everything below it from ``src`` to ``dst``
    from portable_core.tree_copy import copy_objects

    copy_objects(src, dst, oid, stats)

