"""Slices: a bounded set of objects exported as a CBOR stream and imported elsewhere.

A slice (docs/SPEC.md, "Slices") is a sequence of CBOR items:

1. a header map ``{"sprig": "slice", "version": 1, "heads": [commit ids]}``;
2. one ``[id, raw]`` array per object: the object id and its raw bytes; within a
   commit, contents come before the nodes that name them, nodes before their
   parents, the tree before the commit;
3. a trailer map ``{"end": number of objects}`` (a stream cut short is detected).

Import checks the whole input (header fields, ids, each object's bytes against its
id and its kind's format, node children present, the trailer's count, a stream cut
short) and raises ``SliceError`` naming the first defect; it changes no ref (the
caller decides what to do with the heads). ``import_bytes`` stores nothing from a
refused slice; the streamed ``import_slice`` may keep the verified objects read
before the defect.
"""

from portable_core import cbor
from portable_core.cbor_stream import decode_stream
from portable_core.objects import TAG_COMMIT, TAG_CONTENTS, TAG_NODE, decode_object, to_hex
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
    children before parents, with an explicit stack (no recursion limit). An id
    joins ``seen`` when it is yielded, so a child shared by two nodes comes before
    both (a child pushed twice is skipped the second time)."""
    if root in seen:
        return
    stack = [(root, objects.get(root), False)]
    while stack:
        oid, raw, expanded = stack.pop()
        if oid in seen:
            continue
        if raw is None:
            raise SliceError("object %s is missing from the store" % to_hex(oid))
        if expanded or raw[0] != TAG_NODE:
            seen.add(oid)
            yield oid, raw
            continue
        stack.append((oid, raw, True))
        for child in references(raw):
            if child not in seen:
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


_HEADER_KEYS = ("heads", "sprig", "version")


def _fail(what):
    raise SliceError(what)


def _short(x):
    text = repr(x)
    return text if len(text) <= 48 else text[:45] + "..."


def _is_id(x):
    return type(x) is bytes and len(x) == 32


def _check_header(header):
    """Return the header's heads (a list of ids); SliceError naming what is wrong."""
    if type(header) is not dict or header.get("sprig") != "slice":
        _fail("not a Sprig slice: the first item is not a slice header")
    for key in header:
        if key not in _HEADER_KEYS:
            _fail("slice header has an unknown field %s" % _short(key))
    version = header.get("version")
    if type(version) is not int or version != SLICE_VERSION:
        _fail("slice version %s is not supported (only %d)" % (_short(version), SLICE_VERSION))
    heads = header.get("heads")
    if type(heads) is not list:
        _fail("slice header field heads is not a list of commit ids")
    for i in range(len(heads)):
        if not _is_id(heads[i]):
            _fail("slice header head %d is not a 32-byte id: %s" % (i, _short(heads[i])))
    return heads


def _node_children(oid, raw, count):
    """Return the ids a verified object's bytes need present (a node's children), or
    raise SliceError when the object is not well formed. A commit's tree and parents
    may be absent (commits-only and shallow slices)."""
    from portable_core.commit import decode_commit

    try:
        tag, body = decode_object(raw)
        if tag == TAG_COMMIT:
            decode_commit(raw, oid)
            return ()
        if tag == TAG_NODE:
            from portable_core.node import parse_node

            parse_node(raw, None)
            if body[0] == 0:
                return [entry[2] for entry in body[1]]
            return [child[1] for child in body[3]]
        if tag == TAG_CONTENTS:
            return ()
        return references(raw)
    except ValueError as exc:
        _fail("object %d (%s) is malformed: %s" % (count, to_hex(oid), exc))


class _Reader:
    """Reads and checks one slice from ``read(n)``: ``run(add)`` calls ``add(id, raw)``
    for each verified object and returns ``(heads, count)``. ``ids``: a set of the
    ids read so far, when they are not added to ``objects`` as they come."""

    def __init__(self, objects, read, ids):
        self.objects = objects
        self.read = read
        self.ids = ids
        self.head_tags = {}

    def item(self, what):
        try:
            return decode_stream(self.read)
        except ValueError as exc:  # CBORError, and a read cut short
            _fail("slice cut short or damaged at %s: %s" % (what, exc))

    def present(self, oid):
        return (self.ids is not None and oid in self.ids) or self.objects.mem(oid)

    def run(self, add):
        heads = _check_header(self.item("the header"))
        wanted = {}
        for h in heads:
            wanted[h] = True
        count = 0
        while True:
            item = self.item("object %d" % count)
            if type(item) is dict:
                break
            if type(item) is not list or len(item) != 2:
                _fail("object %d is not an [id, raw] pair" % count)
            oid, raw = item
            if not _is_id(oid):
                _fail("object %d: its id is not 32 bytes: %s" % (count, _short(oid)))
            if type(raw) is not bytes:
                _fail("object %d (%s): its raw bytes are not a byte string" % (count, to_hex(oid)))
            if object_id(raw) != oid:
                _fail("object %d: its bytes do not hash to its id %s" % (count, to_hex(oid)))
            for child in _node_children(oid, raw, count):
                if not self.present(child):
                    _fail("object %d (%s) names %s, which is neither earlier in the slice nor stored"
                          % (count, to_hex(oid), to_hex(child)))
            if oid in wanted:
                self.head_tags[oid] = raw[0]
            add(oid, raw)
            count += 1
        for key in item:
            if key != "end":
                _fail("slice trailer has an unknown field %s" % _short(key))
        end = item.get("end")
        if type(end) is not int or end != count:
            _fail("slice trailer says %s objects, read %d" % (_short(end), count))
        for h in heads:
            tag = self.head_tags.get(h)
            if tag is None:
                raw = self.objects.get(h) if self.objects.mem(h) else None
                if raw is None:
                    _fail("slice head %s is not in the slice or the store" % to_hex(h))
                tag = raw[0]
            if tag != TAG_COMMIT:
                _fail("slice head %s is not a commit" % to_hex(h))
        return heads, count


def import_slice(objects, read):
    """Read a slice from ``read(n)`` into the ObjectStore ``objects``; return
    ``(heads, number of objects)``. Changes no ref: the caller decides what to do
    with the heads.

    Every part is checked and a defect raises ``SliceError`` naming it: a header
    that is not a map of exactly ``heads``/``sprig``/``version`` with a supported
    version and heads that are 32-byte ids; an item that is not an ``[id, raw]``
    pair of a 32-byte id and a byte string; bytes that do not hash to their id; an
    object that is not well formed (its kind's parser refuses it); a node naming a
    child that is neither earlier in the slice nor stored; a trailer other than
    ``{"end": count}`` with the number of objects read; a stream cut short or not
    canonical CBOR; a head that is not a commit in the slice or the store.

    Streamed: each object is added once verified, so on a defect the objects
    before it stay stored (each complete, verified, reachable from no ref) and
    nothing else changes; ``import_bytes`` checks the whole slice first.
    A backend error while adding (``StorageError``, e.g. a full device) is raised
    as it is.
    """
    return _Reader(objects, read, None).run(lambda oid, raw: objects.add(raw))


def _bytes_reader(data):
    view = memoryview(data)
    pos = [0]

    def read(n):
        chunk = view[pos[0]:pos[0] + n]
        pos[0] += len(chunk)
        return bytes(chunk)

    return read, pos


def import_bytes(objects, data):
    """Import a slice held in ``data`` (bytes); return ``(heads, count)``.

    The whole slice is checked (as ``import_slice``, and no bytes may follow the
    trailer) before any object is added: on a defect ``SliceError`` is raised and
    the store is unchanged."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("import_bytes: a slice is bytes, not %s" % type(data).__name__)
    read, pos = _bytes_reader(data)
    ids = set()
    _Reader(objects, read, ids).run(lambda oid, raw: ids.add(oid))
    if pos[0] != len(data):
        _fail("%d bytes after the slice trailer" % (len(data) - pos[0]))
    ids = None
    read, pos = _bytes_reader(data)
    return _Reader(objects, read, None).run(lambda oid, raw: objects.add(raw))
