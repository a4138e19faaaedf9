"""Streaming CBOR decoding (``decode_stream``):
one item read through ``read(n)``, no byte past it requested."""

from portable_core.cbor import (
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_SIZE,
    CBORError,
    bad_ai_error,
    too_deep_error,
    too_large_error,
    truncated_error,
    decode,
)
from portable_core.compat import const

_MAJOR_BYTES = const(2)
_MAJOR_TEXT = const(3)
_MAJOR_ARRAY = const(4)
_MAJOR_MAP = const(5)
_MAJOR_TAG = const(6)
_TAG_POS_BIGNUM = const(2)
_TAG_NEG_BIGNUM = const(3)
_STREAM_CHUNK = const(512)


class _Skimmer:
    """Copy exactly one item's bytes from ``read`` into ``buf``, checking sizes and
    nesting on the way; ``decode`` then checks everything else."""

    def __init__(self, read, max_depth, max_size):
        self.read = read
        self.buf = bytearray()
        self.max_depth = max_depth
        self.max_size = max_size

    def pull(self, n):
        """Append exactly ``n`` more bytes, in chunks, never asking for more."""
        buf = self.buf
        if len(buf) + n > self.max_size:
            raise too_large_error(len(buf) + n, self.max_size)
        while n > 0:
            chunk = self.read(n if n < _STREAM_CHUNK else _STREAM_CHUNK)
            if not chunk:
                raise truncated_error(n, len(buf))
            if len(chunk) > n:
                raise CBORError("read returned more bytes than requested")
            buf.extend(chunk)
            n -= len(chunk)

    def head(self):
        start = len(self.buf)
        self.pull(1)
        ib = self.buf[start]
        major = ib >> 5
        ai = ib & 31
        if ai < 24:
            return major, ai, ai
        if ai > 27:
            raise bad_ai_error(ai, start)
        n = 1 << (ai - 24)
        self.pull(n)
        return major, ai, int.from_bytes(self.buf[start + 1 : start + 1 + n], "big")

    def item(self):
        """Copy one item, without recursion: ``left`` holds, per open container, how
        many items it still needs."""
        left = [1]
        max_depth = self.max_depth
        max_size = self.max_size
        while left:
            if not left[-1]:
                left.pop()
                continue
            left[-1] -= 1
            start = len(self.buf)
            major, ai, arg = self.head()
            if major == _MAJOR_BYTES or major == _MAJOR_TEXT:
                if arg > max_size:
                    raise too_large_error(arg, max_size)
                self.pull(arg)
            elif major == _MAJOR_ARRAY or major == _MAJOR_MAP:
                if len(left) > max_depth:
                    raise too_deep_error(max_depth)
                if major == _MAJOR_MAP:
                    arg *= 2
                if arg > max_size:
                    raise too_large_error(len(self.buf) + arg, max_size)
                left.append(arg)
            elif major == _MAJOR_TAG:
                if arg != _TAG_POS_BIGNUM and arg != _TAG_NEG_BIGNUM:
                    raise CBORError("unknown tag %d at offset %d" % (arg, start))
                cstart = len(self.buf)
                cmajor, cai, length = self.head()
                if cmajor != _MAJOR_BYTES:
                    raise CBORError(
                        "bignum tag %d must hold a byte string at offset %d" % (arg, cstart)
                    )
                if length > max_size:
                    raise too_large_error(length, max_size)
                self.pull(length)


def decode_stream(read, max_depth=DEFAULT_MAX_DEPTH, max_size=DEFAULT_MAX_SIZE):
    """Read one canonical CBOR item through ``read(n)`` and return its value.

    ``read(n)`` returns up to ``n`` bytes (fewer, or empty, only at the end of the
    input). Only the item's own bytes are requested, so whatever follows stays
    unread; nothing is allocated for a declared length before the bytes arrive.
    """
    skim = _Skimmer(read, max_depth, max_size)
    skim.item()
    return decode(skim.buf, max_depth, max_size)
