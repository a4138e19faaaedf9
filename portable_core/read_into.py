"""Reading a byte-string value into a buffer the application supplies
(``Tree.read_into``, ``Branch.read_into``; docs/DESIGN.md "Memory").

A large value (a firmware image, a certificate bundle) read with ``get`` comes
back in a new buffer of its size: the heap needs a free hole that big after the
store's own objects are in place. ``read_into`` copies the value into the
caller's buffer instead (allocated once, e.g. at boot, and reused for writing it
with ``set(path, memoryview(buf))``), so that reading needs no RAM of the
value's size beyond that buffer. On a store with the optional ``read_into``
method (the flash store: see portable_core/storage.py) the bytes stream from the
stored object straight into the buffer, past the object's tag and CBOR head,
checked on the way (each chunk's CRC and the whole object's sha256); other stores
read the value with ``get`` and copy it. Imported on first use.
"""

from portable_core.cbor import encode_head
from portable_core.node import KIND_CONTENTS, entry_value, read_contents
from portable_core.objects import TAG_CONTENTS
from portable_core.paths import parse_path

PREFIX = 10  # tag byte + the longest CBOR head (1 + 8 bytes) + 1


class BufferTooSmall(ValueError):
    """The buffer given to ``read_into`` is shorter than the value; ``needed`` is the
    value's length in bytes. Nothing was copied into the buffer."""

    def __init__(self, message, needed):
        super().__init__(message)
        self.needed = needed


class NotBytes(TypeError):
    """The value asked for by ``read_into`` is not a byte or text string."""

    def __init__(self, message):
        super().__init__(message)


def read_into(tree, path, buf):
    """Copy the value at ``path`` of Tree ``tree`` (a byte string, or a text string
    as its UTF-8 bytes) into ``buf`` (a bytearray or writable memoryview) from its
    start and return its length in bytes (``buf[:length]`` is the value; the rest
    of ``buf`` is untouched).

    Errors: ValueError naming a bad path; KeyError(path) when no value is there;
    TypeError when ``buf`` is not a bytearray or memoryview; NotBytes (a
    TypeError) when the value is not a byte or text string; BufferTooSmall (a
    ValueError, with ``needed``) when ``buf`` is shorter than the value, nothing
    copied; TreeError or the store's StorageError when an object on the path is
    missing or damaged: ``buf`` then holds unspecified bytes (a damaged chunk is
    only found while streaming)."""
    if type(buf) is not bytearray and type(buf) is not memoryview:
        raise TypeError("read_into needs a bytearray or memoryview to fill, not %s" % type(buf).__name__)
    steps = parse_path(path)
    t, e = tree._entry(steps) if steps else (None, None)
    if e is None or e[1] != KIND_CONTENTS:
        raise KeyError(path)
    ref = e[2]
    store = t._store
    reader = None if type(ref) is not bytes else getattr(store, "read_into", None)
    if reader is None:  # held in RAM, or a store without read_into: the whole value
        value = entry_value(store, e) if type(ref) is not bytes else read_contents(store, ref)
        return _copy(path, value, buf)
    got = reader(ref, memoryview(buf)[:0], PREFIX)
    if got is None:
        return _copy(path, read_contents(store, ref), buf)  # TreeError: missing
    first, size = got
    h, n = _head(first)
    if first[0] != TAG_CONTENTS or h == 0 or h + n != size:
        # not one byte/text string (or a malformed object): read it the usual way
        # for the usual errors, then name the type
        return _copy(path, read_contents(store, ref), buf)
    if len(buf) < n:
        raise _too_small(path, n, len(buf))
    if size <= PREFIX:  # short: already read with the prefix
        memoryview(buf)[:n] = first[h:h + n]
        return n
    reader(ref, memoryview(buf)[:n], h)
    return n


def _head(first):
    # (bytes before the body: tag + CBOR head, body length) of a contents object
    # holding one byte or text string in canonical form; (0, 0) otherwise
    if len(first) < 2:
        return 0, 0
    b = first[1]
    major = b >> 5
    info = b & 31
    if major != 2 and major != 3 or info > 27:
        return 0, 0
    k = 0 if info < 24 else 1 << (info - 24)
    if len(first) < 2 + k:
        return 0, 0
    n = info if k == 0 else int.from_bytes(first[2:2 + k], "big")
    if encode_head(major, n) != first[1:2 + k]:
        return 0, 0
    return 2 + k, n


def _copy(path, value, buf):
    # copy a value read whole into buf
    if type(value) is str:
        value = value.encode()
    elif type(value) is not bytes and type(value) is not bytearray and type(value) is not memoryview:
        raise NotBytes("the value at %s is a %s, not a byte or text string" % (_text(path), type(value).__name__))
    n = len(value)
    if len(buf) < n:
        raise _too_small(path, n, len(buf))
    memoryview(buf)[:n] = value
    return n


def _too_small(path, n, have):
    return BufferTooSmall("the value at %s is %d bytes: the buffer holds only %d" % (_text(path), n, have), n)


def _text(path):
    return path if type(path) is str else "/".join(path)
