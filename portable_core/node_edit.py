"""The algorithms that edit or list a directory's nodes (portable_core/node.py
holds their format and ``lookup``): ``insert`` and ``delete`` of one entry (rewriting
one node per level, splitting or collapsing as the canonical shape demands),
``split`` of a sorted entry list into its canonical node, ``all_entries`` of a
directory and ``delta`` between two directories, skipping equal children unread.

Functions that may need to load a child take ``store``: the ObjectStore that holds
the directory's unloaded children.
"""

from portable_core.node import (
    BUCKETS,
    MAX_ENTRIES,
    Flat,
    Inner,
    bucket,
    entry_at,
    name_at,
    position,
    resolve,
    same_entry,
    slot_at,
)

# (names used on rarer paths are imported in the function: a module global costs
# heap on MicroPython, docs/DESIGN.md "Memory")

def split(entries, depth, raw=None):
    """Return the canonical node of the sorted ``entries`` at ``depth`` (the items
    of a Flat: tuples, or offsets of entries in ``raw``)."""
    if len(entries) <= MAX_ENTRIES:
        return Flat(entries, raw)
    from portable_core.node import MAX_DEPTH

    if depth > MAX_DEPTH:
        from portable_core.node import TreeError

        raise TreeError("more than %d names share a 255-bit hash prefix" % MAX_ENTRIES)
    groups = [None] * BUCKETS
    node = Flat(entries, raw)  # to read the names
    for k in range(len(entries)):
        i = bucket(name_at(node, k), depth)
        if groups[i] is None:
            groups[i] = [entries[k]]
        else:
            groups[i].append(entries[k])
    node = None
    for i in range(BUCKETS):
        if groups[i] is not None:
            groups[i] = split(groups[i], depth + 1, raw)
    return Inner(depth, len(entries), groups)


def _derived(new, old):
    # ``new`` was made by editing ``old``: remember the stored node it came from, so
    # a backend can keep ``new`` as a small delta against it (ObjectStore.add's base)
    new._base = old._base
    return new


def insert(store, node, entry, depth=0):
    """Return ``(new_node, added)``: ``node`` (at ``depth``) with ``entry`` set;
    ``added`` is True when the name was absent. Returns ``node`` itself when the same
    entry is already there."""
    name = entry[0]
    if isinstance(node, Inner):
        i = bucket(name, depth)
        child = resolve(store, slot_at(node, i), depth + 1)
        new_child, added = insert(store, child, entry, depth + 1)
        if new_child is child:
            return node, False
        slots = list(node.slots)
        slots[i] = new_child
        new = Inner(depth, node.count + (1 if added else 0), slots, node.raw)
        return _derived(new, node), added
    items = node.items
    k = position(node, name)
    if k < len(items) and name_at(node, k) == name:
        old = entry_at(node, k)
        if old[1] == entry[1] and _same_ref(old, entry):
            return node, False
        return _derived(Flat(items[:k] + [entry] + items[k + 1 :], node.raw), node), False
    new = split(items[:k] + [entry] + items[k:], depth, node.raw)
    if isinstance(new, Flat):
        _derived(new, node)
    return new, True


def _same_ref(a, b):
    # equality of two entries of one kind that never hashes an in-memory subtree
    from portable_core.node import KIND_CONTENTS

    if a[1] == KIND_CONTENTS:
        return same_entry(a, b)
    return a[2] is b[2] or (isinstance(a[2], bytes) and a[2] == b[2])


def delete(store, node, name, depth=0):
    """Return ``(new_node, removed)``: ``node`` (at ``depth``) without ``name``;
    ``node`` itself when the name is absent. An inner node left with at most
    ``MAX_ENTRIES`` entries collapses into a flat node."""
    from portable_core.node import EMPTY, is_empty

    if isinstance(node, Inner):
        i = bucket(name, depth)
        if node.slots[i] is None:
            return node, False
        child = resolve(store, slot_at(node, i), depth + 1)
        new_child, removed = delete(store, child, name, depth + 1)
        if not removed:
            return node, False
        slots = list(node.slots)
        slots[i] = None if is_empty(new_child) else new_child
        new = Inner(depth, node.count - 1, slots, node.raw)
        if new.count <= MAX_ENTRIES:
            return Flat(_gather(store, new)), True
        return _derived(new, node), True
    items = node.items
    k = position(node, name)
    if k < len(items) and name_at(node, k) == name:
        if len(items) == 1:
            return EMPTY, True
        return _derived(Flat(items[:k] + items[k + 1 :], node.raw), node), True
    return node, False


def _gather(store, node):
    # entries of the children of Inner ``node``, sorted
    out = []
    depth = node.depth + 1
    for i in range(BUCKETS):
        slot = slot_at(node, i)
        if slot is not None:
            child = resolve(store, slot, depth)
            if isinstance(child, Inner):
                _fill(store, child, out, 0, None)
            else:
                for k in range(len(child.items)):
                    out.append(entry_at(child, k))
    out.sort(key=_name)
    return out


def _name(entry):
    return entry[0]


def _fill(store, node, out, k, project):
    # put the entries below Inner ``node`` into ``out`` from index ``k`` (appending
    # past its end), each through ``project`` if given; return the next index
    depth = node.depth + 1
    for i in range(BUCKETS):
        slot = slot_at(node, i)
        if slot is None:
            continue
        child = resolve(store, slot, depth)
        if isinstance(child, Inner):
            k = _fill(store, child, out, k, project)
            continue
        for j in range(len(child.items)):
            entry = entry_at(child, j)
            if project is not None:
                entry = project(entry)
            if k < len(out):
                out[k] = entry
            else:
                out.append(entry)
            k += 1
        child = None
    return k


def all_entries(store, node, depth=0, project=None):
    """Return the sorted list of every entry of the directory whose top node is
    ``node`` (loads every node of that one directory), each passed through
    ``project`` if given. The list is allocated before the nodes are read (their
    count is in the top node), which keeps the device's heap from fragmenting."""
    if isinstance(node, Inner):
        out = [None] * min(node.count, 65536)
        k = _fill(store, node, out, 0, project)
        if k != node.count:
            from portable_core.node import TreeError

            raise TreeError(
                "inner node counts %d entries, its children hold %d" % (node.count, k)
            )
        out.sort(key=_name)
        return out
    if project is None:
        return node.entries
    return [project(entry_at(node, k)) for k in range(len(node.items))]


def delta(sx, x, sy, y, depth, out):
    """Append to ``out`` one ``(name, entry_x, entry_y)`` per name whose entry differs
    between directory nodes ``x`` (children in ``sx``) and ``y`` (in ``sy``); an
    absent entry is None. ``x``/``y`` are slots (None, id or node) at ``depth``.
    Children with equal ids are skipped without being loaded."""
    from portable_core.node import slot_id

    if x is None and y is None:
        return
    if x is not None and y is not None and slot_id(x) == slot_id(y):
        return
    nx = resolve(sx, x, depth)
    ny = resolve(sy, y, depth)
    if isinstance(nx, Inner) and isinstance(ny, Inner):
        for i in range(BUCKETS):
            delta(sx, slot_at(nx, i), sy, slot_at(ny, i), depth + 1, out)
        return
    ex = all_entries(sx, nx, depth)
    ey = all_entries(sy, ny, depth)
    i = 0
    j = 0
    while i < len(ex) or j < len(ey):
        if j >= len(ey) or (i < len(ex) and ex[i][0] < ey[j][0]):
            out.append((ex[i][0], ex[i], None))
            i += 1
        elif i >= len(ex) or ey[j][0] < ex[i][0]:
            out.append((ey[j][0], None, ey[j]))
            j += 1
        else:
            if not same_entry(ex[i], ey[j]):
                out.append((ex[i][0], ex[i], ey[j]))
            i += 1
            j += 1
