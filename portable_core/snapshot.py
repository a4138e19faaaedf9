"""Slices: a bounded set of objects exported as a CBOR stream and imported elsewhere.

A slice (docs/SPEC.md, "Slices") is a sequence of CBOR items:

1. a header map ``{"sprig": "slice", "version": 1, "heads": [commit ids]}``;
2. one ``[id, raw]`` array per object: the object id and its raw bytes; within a
   commit, contents come before the nodes that name them, nodes before their
   parents, the tree before the commit;
3. a trailer map ``{"end": number of objects}`` (a stream cut short is detected).

``import_slice`` recomputes every id from the raw bytes and refuses the slice at the
first mismatch; it changes no ref (the caller decides what to do with the heads).
"""

from portable_core import cbor
from portable_core.cbor_stream import decode_stream
from portable_core.objects import TAG_NODE, decode_object, to_hex
from portable_core.retention import links
from portable_core.storage import object_id

SLICE_VERSION = 1


class SliceError(ValueError):
    """A slice stream that is malformed, truncated or carries a wrong id."""


def references(raw):
    """Return the ids an object's raw bytes refer to (children, tree, parents)."""
    needed, parents = links(raw)
    return needed + parents


def _tree_objects(objects, root, seen):
    """Yield ``(id, raw)`` for the objects of the tree ``root`` not in ``seen``,
    children before parents, with an explicit stack (no recursion limit)."""
    if root in seen:
        return
    seen.add(root)
    stack = [(root, objects.get(root), False)]
    while stack:
        oid, raw, expanded = stack.pop()
        if raw is None:
            raise SliceError("object %s is missing from the store" % to_hex(oid))
        if expanded or raw[0] != TAG_NODE:
            yield oid, raw
            continue
        stack.append((oid, raw, True))
        for child in references(raw):
            if child not in seen:
                seen.add(child)
                stack.append((child, objects.get(child), False))


def export_objects(objects, heads, depth=None, min=None, full=True):
    """Yield ``(id, raw)`` for the slice of history reachable from ``heads``.

    ``depth``: follow at most this many parent links below the heads; ``min``:
    commit ids whose ancestors are left out (the commits themselves are included);
    ``full``: include trees and contents (False: commits only).
    """
    from portable_core.history import walk  # here: references() alone needs no trees

    stop = set(min or [])
    seen = set()
    # Commits are visited highest first, so every child of a commit comes before
    # it: a commit is in the slice if a head or an included non-``min`` child
    # reaches it.
    included = set(heads)
    for commit in walk(objects, heads, depth):
        if commit.id not in included:
            continue
        if commit.id not in stop:
            for p in commit.parents:
                included.add(p)
        if full:
            for item in _tree_objects(objects, commit.tree, seen):
                yield item
        yield commit.id, objects.get(commit.id)


def export_slice(objects, heads, write, depth=None, min=None, full=True):
    """Write the slice of ``heads`` as a CBOR stream through ``write(bytes)``;
    return the number of objects written."""
    write(cbor.encode({"sprig": "slice", "version": SLICE_VERSION, "heads": list(heads)}))
    count = 0
    for oid, raw in export_objects(objects, heads, depth, min, full):
        write(cbor.encode([oid, raw]))
        count += 1
    write(cbor.encode({"end": count}))
    return count


def export_bytes(objects, heads, depth=None, min=None, full=True):
    """Return the slice of ``heads`` as bytes."""
    parts = []
    export_slice(objects, heads, parts.append, depth, min, full)
    return b"".join(parts)


def import_slice(objects, read):
    """Read a slice from ``read(n)`` into the ObjectStore ``objects``; verify every
    id; return ``(heads, number of objects)``. SliceError on any defect."""
    try:
        header = decode_stream(read)
    except cbor.CBORError as exc:
        raise SliceError("bad slice header: %s" % exc)
    if not (isinstance(header, dict) and header.get("sprig") == "slice"):
        raise SliceError("not a Sprig slice")
    if header.get("version") != SLICE_VERSION:
        raise SliceError("slice version %r is not supported" % header.get("version"))
    heads = header.get("heads")
    if not isinstance(heads, list):
        raise SliceError("slice header without heads")
    count = 0
    while True:
        try:
            item = decode_stream(read)
        except cbor.CBORError as exc:
            raise SliceError("slice cut short or damaged after %d objects: %s" % (count, exc))
        if isinstance(item, dict):
            if item.get("end") != count:
                raise SliceError("slice trailer says %r objects, read %d" % (item.get("end"), count))
            break
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[1], bytes)):
            raise SliceError("object %d is not an [id, raw] pair" % count)
        oid, raw = item
        if object_id(raw) != oid:
            raise SliceError("object %d: its bytes do not hash to its id %s" % (count, to_hex(oid) if isinstance(oid, bytes) else oid))
        try:
            decode_object(raw)
        except ValueError as exc:
            raise SliceError("object %d (%s) is malformed: %s" % (count, to_hex(oid), exc))
        objects.add(raw)
        count += 1
    for h in heads:
        if not objects.mem(h):
            raise SliceError("slice head %s is not in the slice or the store" % to_hex(h))
    return heads, count


def import_bytes(objects, data):
    """Import a slice held in ``data`` (bytes); return ``(heads, count)``."""
    view = memoryview(data)
    pos = [0]

    def read(n):
        chunk = view[pos[0]:pos[0] + n]
        pos[0] += len(chunk)
        return bytes(chunk)

    heads, count = import_slice(objects, read)
    if pos[0] != len(data):
        raise SliceError("%d bytes after the slice trailer" % (len(data) - pos[0]))
    return heads, count
