"""Tree nodes: the byte format of one directory and the bounded, canonical way a big
directory is split into several node objects (after Irmin's inodes).

A directory is a map from *steps* (path segments) to entries ``(name, kind, ref)``:
kind ``KIND_CONTENTS`` (0) names a contents object, kind ``KIND_NODE`` (1) a
subdirectory. The byte format (docs/SPEC.md, "Trees"):

- a directory of at most ``MAX_ENTRIES`` entries is one *flat* node
  ``encode_object(TAG_NODE, [0, [[name, kind, id], ...]])``, entries sorted by name
  (UTF-8 byte order, which is also code point order, so ``str`` order);
- a bigger directory is an *inner* node ``encode_object(TAG_NODE, [1, depth, count,
  [[bucket, child_id], ...]])``: each entry goes to bucket ``bucket(name, depth)``
  (5 bits of ``sha256(name)`` at bit ``5*depth``), each non-empty bucket points to the
  node of that bucket's entries: flat if they are at most ``MAX_ENTRIES``, else inner
  at ``depth + 1``. ``count`` is the number of entries under the inner node.

The shape is a function of the set of entries only, so a directory's id depends only
on its contents, never on the order of the edits that built it. Changing one entry
rewrites one node per level (O(log32 n) nodes), each of bounded size
(``MAX_FLAT_NODE_BYTES``, ``MAX_INNER_NODE_BYTES``).

In memory a node is a ``Flat`` or an ``Inner``; a child that has not been loaded is
its 32-byte id (``bytes``). An entry is a tuple ``(name, kind, ref)``: ``ref`` is
the 32-byte id (``bytes``) of a stored object, or for contents held in RAM the
contents object's raw bytes as a ``bytearray`` (never mutated nor handed out; its
id is computed when needed), or for a subtree a ``Tree`` (portable_core.tree).
Plain tuples, no per-entry objects or cached ids: an in-memory entry costs about
100 bytes on the device. A node read from a store keeps its raw bytes instead: an
entry or child not edited since is the offset (an int) of its encoding in them,
decoded only when asked for (``entry_at``, ``slot_at``), and written back as the
same bytes. Nodes are immutable: every edit returns new nodes along the path and
shares the rest.
Functions that may need to load a child take ``store``: the ObjectStore that holds
the directory's unloaded children.

This module is the format: the node types, encoding, parsing, loading, and
``lookup`` of one name (a bucket per inner level, then a binary search). The
algorithms that edit or list a directory (insert, delete, split, all entries,
delta) are in portable_core/node_edit.py.
"""

import hashlib

from portable_core.cbor import DEFAULT_MAX_SIZE, CBORError, encode_head
from portable_core.compat import const
from portable_core.objects import TAG_CONTENTS, TAG_NODE, decode_object, encode_object, to_hex

# Names used once, or only on a fault, are imported in the function that uses
# them: a module global costs heap on MicroPython (docs/DESIGN.md "Memory").

MAX_ENTRIES = const(32)  # most entries in one flat node; more: split into buckets
BUCKETS = const(32)  # buckets of an inner node (5 bits of the name's hash)
MAX_DEPTH = const(50)  # deepest inner node: bits 250..254 of the 256-bit hash
MAX_STEP_BYTES = const(255)  # longest path segment, in UTF-8 bytes
KIND_CONTENTS = const(0)
_LARGE = const(4096)  # a byte string this long is held and read back in place
KIND_NODE = const(1)
FORMAT_FLAT = const(0)
FORMAT_INNER = const(1)

# Size bounds of a raw node object (tag byte included), from canonical CBOR:
# one flat entry: array(3) 1 + text head 2 + name 255 + kind 1 + bytes head 2 + id 32
MAX_FLAT_ENTRY_BYTES = const(293)
# tag 1 + array(2) 1 + format 1 + array(<=32) head 2 + 32 entries
MAX_FLAT_NODE_BYTES = const(9381)
# one child: array(2) 1 + bucket (0..31) <=2 + bytes head 2 + id 32
MAX_INNER_CHILD_BYTES = const(37)
# tag 1 + array(4) 1 + format 1 + depth (<=50) 2 + count (<=2**64-1) 9
# + array(<=32) head 2 + 32 children
MAX_INNER_NODE_BYTES = const(1200)


class TreeError(ValueError):
    """A tree refers to an object that is missing, of the wrong kind or malformed."""


def check_step(step, path=None):
    """Return ``step`` if it is a valid path segment, else raise ValueError.

    A segment is a non-empty ``str`` without ``"/"`` or NUL, not ``"."`` or ``".."``,
    of at most 255 UTF-8 bytes. ``path`` (optional) is named in the message.
    """
    where = "" if path is None else " in path %r" % (path,)
    if not isinstance(step, str):
        raise ValueError("path segment %r%s is not a str" % (step, where))
    if not step:
        raise ValueError("empty path segment%s" % where)
    if step == "." or step == "..":
        raise ValueError("path segment %r%s is not allowed" % (step, where))
    if "/" in step:
        raise ValueError("path segment %r%s contains '/'" % (step, where))
    if "\x00" in step:
        raise ValueError("path segment %r%s contains NUL" % (step, where))
    try:
        size = len(step.encode("utf-8"))
    except UnicodeError:
        raise ValueError("path segment %r%s is not valid Unicode text" % (step, where))
    if size > MAX_STEP_BYTES:
        raise ValueError(
            "path segment%s is %d UTF-8 bytes, more than %d" % (where, size, MAX_STEP_BYTES)
        )
    return step


def bucket(name, depth):
    """Return the bucket (0..31) of entry ``name`` in an inner node at ``depth``: bits
    ``5*depth .. 5*depth+4`` of ``sha256(name.encode())``, bit 0 being the most
    significant bit of the digest's first byte."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    pos = 5 * depth
    i = pos >> 3
    window = digest[i] << 8
    if i + 1 < 32:
        window |= digest[i + 1]
    return (window >> (11 - (pos & 7))) & 31


def contents_entry(name, value):
    """Return the in-memory entry storing the CBOR value ``value`` at ``name``;
    CBORError if it has no encoding, or if its encoding is over DEFAULT_MAX_SIZE
    bytes (what ``decode_object`` reads back). A byte string of ``_LARGE`` (4096)
    bytes or more is not encoded: the entry holds the contents object's raw
    bytes as two pieces, ``[tag and CBOR head, the value]`` (the value as
    ``bytes``: a bytearray is copied once, so that later edits of it do not
    change the tree; a memoryview is held as given, not copied: the caller keeps
    the bytes under it unchanged until the tree is written, e.g. until
    ``Branch.set`` returns), so RAM holds the value once."""
    t = type(value)
    n = len(value) if t is bytes or t is bytearray or t is memoryview else 0
    if n >= _LARGE:
        head = encode_head(2, n)  # a byte string of n bytes
        if len(head) + n > DEFAULT_MAX_SIZE:
            raise CBORError("its encoding is %d bytes, over the %d a reader accepts (cbor.DEFAULT_MAX_SIZE)"
                            % (len(head) + n, DEFAULT_MAX_SIZE))
        return (name, KIND_CONTENTS, [bytes((TAG_CONTENTS,)) + head, value if t is not bytearray else bytes(value)])
    raw = encode_object(TAG_CONTENTS, value)
    if len(raw) - 1 > DEFAULT_MAX_SIZE:
        raise CBORError("its encoding is %d bytes, over the %d a reader accepts (cbor.DEFAULT_MAX_SIZE)"
                        % (len(raw) - 1, DEFAULT_MAX_SIZE))
    return (name, KIND_CONTENTS, bytearray(raw))


class Flat:
    """A flat node: ``items`` are its entries, sorted by name (read them with
    ``entry_at``, ``name_at``; ``entries`` builds the list of them all).

    A node loaded from a store keeps its raw bytes (``raw``) and its entries stay
    there: an entry as stored is the offset (an int) of its encoding in ``raw``,
    any other entry is a tuple ``(name, kind, ref)``. That is the raw bytes and
    a small int per entry instead of a tuple, name and id each (a third of the RAM);
    nodes edited from it share ``raw`` and keep the offsets of the entries they
    did not change."""

    def __init__(self, items, raw=None):
        self.items = items
        self.raw = raw
        self._id = None  # memoized id
        self._stored = None  # an ObjectStore known to hold this node and all below
        self._base = None  # id of the stored node this one was edited from (a delta hint)

    @property
    def entries(self):
        """The list of every entry ``(name, kind, ref)`` (decoded: rarely needed)."""
        return [entry_at(self, k) for k in range(len(self.items))]


def _name_span(raw, off):
    # (start, end) of the UTF-8 name of the entry encoded at ``off`` in ``raw``
    n = raw[off + 1]
    if n == 0x78:  # text of 24..255 bytes
        return off + 3, off + 3 + raw[off + 2]
    return off + 2, off + 2 + n - 0x60


def entry_at(node, k):
    """Return entry ``k`` ``(name, kind, ref)`` of Flat ``node``."""
    item = node.items[k]
    if type(item) is not int:
        return item
    raw = node.raw
    s, e = _name_span(raw, item)
    return (str(raw[s:e], "utf-8"), raw[e], raw[e + 3 : e + 35])


def name_at(node, k):
    """Return the name of entry ``k`` of Flat ``node``."""
    item = node.items[k]
    if type(item) is not int:
        return item[0]
    s, e = _name_span(node.raw, item)
    return str(node.raw[s:e], "utf-8")


def _entry_end(raw, off):
    # the offset just past the entry encoded at ``off`` in ``raw``
    return _name_span(raw, off)[1] + 35


class Inner:
    """An inner node at ``depth``: ``count`` entries below, ``slots`` a list of 32
    children (None, a 32-byte id or a node; read them with ``slot_at``).

    A node loaded from a store keeps its raw bytes (``raw``) and its children's ids
    stay there: an unloaded child is the offset (an int) of its id in ``raw``. That
    is one buffer instead of 32 bytes objects, half the RAM; nodes edited from it
    share it."""

    def __init__(self, depth, count, slots, raw=None):
        self.depth = depth
        self.count = count
        self.slots = slots
        self.raw = raw
        self._id = None
        self._stored = None
        self._base = None


def slot_at(node, i):
    """Return child ``i`` of Inner ``node``: None, a 32-byte id or a node."""
    slot = node.slots[i]
    if type(slot) is int:
        return bytes(node.raw[slot : slot + 32])
    return slot


EMPTY = Flat([])
EMPTY_RAW = encode_object(TAG_NODE, [FORMAT_FLAT, []])
EMPTY_ID = hashlib.sha256(EMPTY_RAW).digest()
EMPTY._id = EMPTY_ID


def entry_id(entry):
    """Return the id of the object an entry refers to."""
    ref = entry[2]
    if isinstance(ref, bytes):
        return ref
    if isinstance(ref, bytearray):
        return hashlib.sha256(ref).digest()
    if isinstance(ref, list):  # a large byte string's pieces (contents_entry)
        h = hashlib.sha256()
        for piece in ref:
            h.update(piece)
        return h.digest()
    return ref.hash()


def slot_id(slot):
    """Return the id of a child slot (a 32-byte id or a node; not None)."""
    if isinstance(slot, bytes):
        return slot
    return node_id(slot)


def same_entry(a, b):
    """Return True when entries ``a`` and ``b`` (or None) have the same kind and id."""
    if a is None or b is None:
        return a is b
    if a[1] != b[1]:
        return False
    if a[2] is b[2]:
        return True
    if isinstance(a[2], bytearray) and isinstance(b[2], bytearray):
        return a[2] == b[2]
    return entry_id(a) == entry_id(b)


def encode_node(node, ids=None):
    """Return the raw bytes of ``node``, computing the ids of in-memory children
    (for a flat node, ``ids`` may give the entries' ids, in order; None for one
    to compute)."""
    return b"".join(_pieces(node, ids))


def node_id(node):
    """Return the id of ``node``, computed once (hashed piece by piece: the raw
    bytes are never built)."""
    if node._id is None:
        h = hashlib.sha256()
        for piece in _pieces(node, None, True):
            h.update(piece)
        node._id = h.digest()
    return node._id


# Canonical CBOR pieces of node objects (docs/SPEC.md "Trees"): node bytes are
# written straight from the node, without building the body value cbor.encode
# would take (a list per entry). The tuples are constants: no heap on MicroPython.
_FLAT_HEAD = b"\x54\x82\x00"  # tag "T", array(2), format 0
_INNER_HEAD = b"\x54\x84\x01"  # tag "T", array(4), format 1
_KIND_ID = (b"\x00\x58\x20", b"\x01\x58\x20")  # an entry's kind, then its id's head
# an entry's array(3) and the head of its name, for names of 0..23 bytes
_ENTRY_HEADS = (
    b"\x83\x60", b"\x83\x61", b"\x83\x62", b"\x83\x63", b"\x83\x64", b"\x83\x65",
    b"\x83\x66", b"\x83\x67", b"\x83\x68", b"\x83\x69", b"\x83\x6a", b"\x83\x6b",
    b"\x83\x6c", b"\x83\x6d", b"\x83\x6e", b"\x83\x6f", b"\x83\x70", b"\x83\x71",
    b"\x83\x72", b"\x83\x73", b"\x83\x74", b"\x83\x75", b"\x83\x76", b"\x83\x77",
)
# an inner child's array(2), its bucket and the head of its id, per bucket
_CHILD_HEADS = (
    b"\x82\x00\x58\x20", b"\x82\x01\x58\x20", b"\x82\x02\x58\x20", b"\x82\x03\x58\x20",
    b"\x82\x04\x58\x20", b"\x82\x05\x58\x20", b"\x82\x06\x58\x20", b"\x82\x07\x58\x20",
    b"\x82\x08\x58\x20", b"\x82\x09\x58\x20", b"\x82\x0a\x58\x20", b"\x82\x0b\x58\x20",
    b"\x82\x0c\x58\x20", b"\x82\x0d\x58\x20", b"\x82\x0e\x58\x20", b"\x82\x0f\x58\x20",
    b"\x82\x10\x58\x20", b"\x82\x11\x58\x20", b"\x82\x12\x58\x20", b"\x82\x13\x58\x20",
    b"\x82\x14\x58\x20", b"\x82\x15\x58\x20", b"\x82\x16\x58\x20", b"\x82\x17\x58\x20",
    b"\x82\x18\x18\x58\x20", b"\x82\x18\x19\x58\x20", b"\x82\x18\x1a\x58\x20",
    b"\x82\x18\x1b\x58\x20", b"\x82\x18\x1c\x58\x20", b"\x82\x18\x1d\x58\x20",
    b"\x82\x18\x1e\x58\x20", b"\x82\x18\x1f\x58\x20",
)


def _pieces(node, ids, view=False):
    # yield the raw bytes of ``node`` in pieces, tag byte first (``view``: pieces
    # of a kept raw buffer may be memoryviews)
    if isinstance(node, Inner):
        yield _INNER_HEAD
        yield encode_head(0, node.depth)
        yield encode_head(0, node.count)
        slots = node.slots
        n = 0
        for slot in slots:
            if slot is not None:
                n += 1
        yield encode_head(4, n)
        raw = node.raw
        if view and raw is not None:
            raw = memoryview(raw)
        start = end = -1  # a run of children as stored: raw[start:end]
        for i in range(BUCKETS):
            slot = slots[i]
            if slot is None:
                continue
            if type(slot) is int:
                head = slot - len(_CHILD_HEADS[i])
                if head != end:
                    if start >= 0:
                        yield raw[start:end]
                    start = head
                end = slot + 32
                continue
            if start >= 0:
                yield raw[start:end]
                start = end = -1
            yield _CHILD_HEADS[i]
            yield slot_id(slot)
        if start >= 0:
            yield raw[start:end]
        return
    items = node.items
    raw = node.raw
    if view and raw is not None:
        raw = memoryview(raw)  # hashing: runs of stored entries are not copied
    yield _FLAT_HEAD
    yield encode_head(4, len(items))
    k = 0
    n = len(items)
    while k < n:
        e = items[k]
        if type(e) is int:  # stored entries, as many as follow each other in raw
            end = _entry_end(raw, e)
            k += 1
            while k < n and items[k] == end:
                end = _entry_end(raw, end)
                k += 1
            yield raw[e:end]
            continue
        name = e[0].encode("utf-8")
        size = len(name)
        if size != len(e[0]):
            from portable_core.cbor import utf8_strict
            from portable_core.compat import IS_MICROPYTHON

            if IS_MICROPYTHON and not utf8_strict(name):
                raise CBORError("text string is not valid Unicode (lone surrogate?)")
        if size < 24:
            yield _ENTRY_HEADS[size]
        else:
            yield b"\x83"
            yield encode_head(3, size)
        yield name
        yield _KIND_ID[e[1]]
        yield entry_id(e) if ids is None or ids[k] is None else ids[k]
        k += 1


def is_empty(node):
    """Return True for a node without entries (an empty flat node)."""
    return isinstance(node, Flat) and not node.items


def parse_node(raw, depth=0):
    """Return the Flat or Inner node held in ``raw`` (a node object's raw bytes)
    found at ``depth`` (None: any depth, as stored). The one node parser: it reads
    the bytes in place (no CBOR body value is built; an entry or child id stays in
    ``raw`` as an offset) and accepts exactly the canonical encoding of a
    well-formed node. ValueError (CBORError for bad CBOR) saying what is wrong."""
    from portable_core.cbor import DEFAULT_MAX_DEPTH, Decoder, decode_text

    if len(raw) < 2 or raw[0] != TAG_NODE:
        raise ValueError("not a node object")
    dec = Decoder(memoryview(raw), DEFAULT_MAX_DEPTH, DEFAULT_MAX_SIZE)
    buf = dec.buf
    n = buf[1]  # array(2): a flat node, array(4): an inner node
    if n != 0x82 and n != 0x84:
        raise ValueError("a node body is an array of 2 (flat) or 4 (inner) items")
    dec.pos = 2
    major, _, fmt = dec.head()
    if major != 0 or fmt != (FORMAT_FLAT if n == 0x82 else FORMAT_INNER):
        raise ValueError("unknown node format")
    if fmt == FORMAT_FLAT:
        major, _, k = dec.head()
        if major != 4:
            raise ValueError("the entries of a flat node are an array")
        if k > MAX_ENTRIES:
            raise ValueError("flat node of %d entries (max %d)" % (k, MAX_ENTRIES))
        items = [0] * k
        prev = None
        for j in range(k):
            at = dec.pos
            if at >= dec.end or buf[at] != 0x83:
                raise ValueError("a node entry is [name, kind, id]")
            start = dec.pos = at + 1
            major, _, size = dec.head()
            if major != 3:
                raise ValueError("an entry name is a text string")
            name = check_step(decode_text(dec.take(size), start))
            if prev is not None and name <= prev:
                raise ValueError("node entries not sorted: %r after %r" % (name, prev))
            major, _, kind = dec.head()
            if major != 0 or kind > KIND_NODE:
                raise ValueError("entry %r has unknown kind" % name)
            _take_id(dec)
            items[j] = at  # the entry stays in ``raw``
            prev = name
        prev = name = None
        node = Flat(items, raw)
    else:
        major, _, d = dec.head()
        if major != 0 or d > MAX_DEPTH:
            raise ValueError("inner node depth must be an int <= %d" % MAX_DEPTH)
        if depth is not None and d != depth:
            raise ValueError("inner node of depth %d where depth %d was expected" % (d, depth))
        major, _, count = dec.head()
        if major != 0 or count <= MAX_ENTRIES:
            raise ValueError("inner node with entry count %d" % count)
        major, _, k = dec.head()
        if major != 4 or not 0 < k <= BUCKETS:
            raise ValueError("inner node children: an array of 1 to %d" % BUCKETS)
        slots = [None] * BUCKETS
        prev = -1
        for _ in range(k):
            if dec.pos >= dec.end or buf[dec.pos] != 0x82:
                raise ValueError("an inner node child is [bucket, id]")
            dec.pos += 1
            major, _, i = dec.head()
            if major != 0 or i <= prev or i >= BUCKETS:
                raise ValueError("bad or unsorted bucket %d" % i)
            slots[i] = dec.pos + 2  # the offset of the id in ``raw``
            _take_id(dec)
            prev = i
        node = Inner(d, count, slots, raw)
    if dec.pos != dec.end:
        raise ValueError("%d bytes after the node" % (dec.end - dec.pos))
    return node


def _take_id(dec):
    # skip the 32-byte id (a byte string) at ``dec``'s position
    buf = dec.buf
    pos = dec.pos
    if dec.end - pos < 34 or buf[pos] != 0x58 or buf[pos + 1] != 32:
        raise ValueError("an id is a 32-byte string")
    dec.pos = pos + 34


def _read_body(store, oid, tag, what, a_what, raw=None):
    # the body of object ``oid`` of type ``tag`` from ``store`` (``raw``: its bytes,
    # already read); TreeError naming the id if it is missing, malformed or of
    # another type
    if raw is None:
        raw = store.get(oid) if store is not None else None
    if raw is None:
        raise TreeError("missing %s object %s" % (what, to_hex(oid)))
    from portable_core.objects import ObjectError

    try:
        found, body = decode_object(raw)
    except ObjectError as exc:
        raise TreeError("object %s: %s" % (to_hex(oid), exc))
    if found != tag:
        from portable_core.objects import KIND_NAMES

        raise TreeError("object %s is a %s object, not %s" % (to_hex(oid), KIND_NAMES[found], a_what))
    return body


def load(store, nid, depth=0):
    """Read, decode and check node ``nid`` from ``store`` (expected at ``depth``);
    raise TreeError naming the id if it is missing, not a node or malformed."""
    raw = store.get(nid) if store is not None else None
    if raw is None:
        raise TreeError("missing node object %s" % to_hex(nid))
    if type(raw) is not bytes:
        raw = bytes(raw)  # a node keeps it: never a buffer someone reuses
    if raw and raw[0] != TAG_NODE:
        from portable_core.objects import KIND_NAMES

        if raw[0] in KIND_NAMES:
            raise TreeError("object %s is a %s object, not a node" % (to_hex(nid), KIND_NAMES[raw[0]]))
    try:
        node = parse_node(raw, depth)
    except (ValueError, IndexError) as exc:  # CBORError is a ValueError
        raise TreeError("malformed node %s: %s" % (to_hex(nid), exc))
    node._id = nid
    node._stored = store
    node._base = nid
    return node


def entry_value(store, entry):
    """Return the value of contents entry ``entry`` (a fresh copy for contents held
    in RAM, else read from ``store``)."""
    if isinstance(entry[2], bytearray):
        return decode_object(entry[2])[1]
    if isinstance(entry[2], list):  # a large byte string held in RAM (contents_entry)
        v = entry[2][1]
        return v if type(v) is bytes else bytes(v)
    return read_contents(store, entry[2])


def read_contents(store, oid):
    """Return the value of contents object ``oid`` in ``store`` (TreeError if it is
    missing or not a contents object). When the store hands back a ``bytearray``
    (the flash store does for an object read from its chunks) holding one byte
    string of ``_LARGE`` (4096) bytes or more, that buffer is the value, its tag
    and CBOR head cut off in place: RAM holds it once."""
    raw = store.get(oid) if store is not None else None
    if type(raw) is bytearray and len(raw) > _LARGE and raw[0] == TAG_CONTENTS:
        # exactly one canonical byte string, as decode would accept it
        h = 4 if raw[1] == 0x59 else 6 if raw[1] == 0x5A else 0
        n = len(raw) - h
        if h and _LARGE <= n and n + h - 1 <= DEFAULT_MAX_SIZE and raw[1:h] == encode_head(2, n):
            raw[0:h] = b""
            return raw
    return _read_body(store, oid, TAG_CONTENTS, "contents", "contents", raw)


def resolve(store, slot, depth):
    """Return the node in ``slot`` (None: empty, an id: loaded from ``store``)."""
    if slot is None:
        return EMPTY
    if isinstance(slot, bytes):
        return load(store, slot, depth)
    return slot


def lookup(store, node, name):
    """Return the entry ``(name, kind, ref)`` of ``name`` in the directory whose top
    node is ``node``, or None. Loads one node per level."""
    while isinstance(node, Inner):
        slot = slot_at(node, bucket(name, node.depth))
        if slot is None:
            return None
        node = resolve(store, slot, node.depth + 1)
    k = position(node, name)
    if k < len(node.items) and name_at(node, k) == name:
        return entry_at(node, k)
    return None


def position(node, name):
    """Return the index of the first entry of Flat ``node`` whose name is not below
    ``name`` (binary search)."""
    lo = 0
    hi = len(node.items)
    while lo < hi:
        mid = (lo + hi) >> 1
        if name_at(node, mid) < name:
            lo = mid + 1
        else:
            hi = mid
    return lo
