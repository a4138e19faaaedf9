"""Copying a tree's objects from one object store to another (``Tree.write`` of a
tree read from another store)."""

from portable_core.node import BUCKETS, Inner, TreeError, entry_at, parse_node, slot_at
from portable_core.objects import TAG_NODE, to_hex


def copy_objects(src, dst, oid, stats):
    """Copy object ``oid`` and everything below it from ObjectStore ``src`` to
    ``dst``, children first, skipping what ``dst`` already has (no recursion);
    add to ``stats`` [bytes, objects] what was copied. TreeError if an object is
    missing from ``src`` or a node is malformed."""
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
        node = parse_node(bytes(raw), None)
    except ValueError as exc:
        raise TreeError("malformed node %s: %s" % (to_hex(oid), exc))
    if isinstance(node, Inner):
        return [slot_at(node, i) for i in range(BUCKETS) if node.slots[i] is not None]
    return [entry_at(node, k)[2] for k in range(len(node.items))]
