"""Deterministic CBOR (RFC 8949 section 4.2.1 core deterministic encoding).

``encode(value)`` writes the one canonical encoding of a value; ``decode(data)``
accepts only that canonical form (Sprig verifies content-addressed bytes with it);
``portable_core.cbor_stream.decode_stream(read)`` reads exactly one item from a
byte source. ``Decoder``, ``encode_head``, ``decode_text``, ``utf8_strict`` and the
``*_error`` constructors are the pieces node.py and cbor_stream.py build on.

Value model (see docs/SPEC.md, "Values and CBOR"): None, True, False, int of any
size (tag 2/3 bignums beyond 64 bits), float, str, bytes (bytearray and memoryview
encode as byte strings, decode as bytes), list (tuples encode as arrays, arrays
decode as lists), dict (keys: None, bool, int, float, str, bytes).

Runs unchanged on CPython and MicroPython: no ``int.bit_length``, no ``math``,
no struct 'e' (half floats are packed by hand), UTF-8 checked by hand on
MicroPython, whose ``str(b, "utf-8")`` accepts surrogates and overlong forms.
"""

import struct

from portable_core.compat import IS_MICROPYTHON, const

DEFAULT_MAX_DEPTH = const(32)
DEFAULT_MAX_SIZE = const(1048576)

_MAJOR_BYTES = const(2)
_MAJOR_TEXT = const(3)
_MAJOR_ARRAY = const(4)
_MAJOR_MAP = const(5)
_MAJOR_TAG = const(6)
_MAJOR_SIMPLE = const(7)

_TAG_POS_BIGNUM = const(2)
_TAG_NEG_BIGNUM = const(3)

_U64_LIMIT = 1 << 64
_MANT_MASK = (1 << 52) - 1
_IMPLICIT_ONE = 1 << 52

# Smallest argument that needs the given additional information (24..27).
_HEAD_MIN = (24, 256, 65536, 1 << 32)
_ARG_NAMES = ("integer", "integer", "length", "length", "count", "count", "tag", "value")


_NO_KEY = object()  # a map frame waiting for its next key


class CBORError(ValueError):
    """Input that is not the canonical CBOR encoding of a Sprig value, or a value
    that has no such encoding."""


# ---------------------------------------------------------------- encoding


def encode_head(major, arg):
    """Return the shortest head for major type ``major`` and argument ``arg``."""
    mt = major << 5
    if arg < 24:
        return bytes((mt | arg,))
    if arg < 256:
        return bytes((mt | 24, arg))
    if arg < 65536:
        return bytes((mt | 25, arg >> 8, arg & 255))
    if arg < 4294967296:
        return bytes((mt | 26,)) + arg.to_bytes(4, "big")
    return bytes((mt | 27,)) + arg.to_bytes(8, "big")


def _magnitude_bytes(n):
    """Return the shortest big-endian bytes of the non-negative int ``n`` (b"" for 0)."""
    if n == 0:
        return b""
    digits = "%x" % n
    return n.to_bytes((len(digits) + 1) >> 1, "big")


def _encode_int(out, value):
    if value >= 0:
        if value < _U64_LIMIT:
            out.extend(encode_head(0, value))
            return
        tag = _TAG_POS_BIGNUM
        mag = value
    else:
        mag = -1 - value
        if mag < _U64_LIMIT:
            out.extend(encode_head(1, mag))
            return
        tag = _TAG_NEG_BIGNUM
    data = _magnitude_bytes(mag)
    out.extend(encode_head(_MAJOR_TAG, tag))
    out.extend(encode_head(_MAJOR_BYTES, len(data)))
    out.extend(data)


def _float_bytes(value):
    """Return the shortest of the half/single/double encodings that is exact."""
    bits = int.from_bytes(struct.pack(">d", value), "big")
    sign = bits >> 63
    exp = (bits >> 52) & 0x7FF
    mant = bits & _MANT_MASK
    if exp == 0x7FF:
        # (the half-precision encodings are literals here: a module global
        # costs heap on MicroPython)
        if mant:
            return b"\xf9\x7e\x00"  # NaN
        return b"\xf9\xfc\x00" if sign else b"\xf9\x7c\x00"  # -inf, +inf
    if exp == 0:
        if mant == 0:
            return b"\xf9\x80\x00" if sign else b"\xf9\x00\x00"  # -0.0, +0.0
        # A double subnormal is below every single, so only a double holds it.
        return b"\xfb" + bits.to_bytes(8, "big")
    e = exp - 1023
    sig = _IMPLICIT_ONE | mant
    half = -1
    if -14 <= e <= 15:
        if mant & 0x3FFFFFFFFFF == 0:
            half = ((e + 15) << 10) | (mant >> 42)
    elif -24 <= e < -14:
        shift = 28 - e
        if sig & ((1 << shift) - 1) == 0:
            half = sig >> shift
    if half >= 0:
        return bytes((0xF9, (sign << 7) | (half >> 8), half & 255))
    single = -1
    if -126 <= e <= 127:
        if mant & 0x1FFFFFFF == 0:
            single = ((e + 127) << 23) | (mant >> 29)
    elif -149 <= e < -126:
        shift = -97 - e
        if sig & ((1 << shift) - 1) == 0:
            single = sig >> shift
    if single >= 0:
        return b"\xfa" + ((sign << 31) | single).to_bytes(4, "big")
    return b"\xfb" + bits.to_bytes(8, "big")


def _encode_text(out, value):
    try:
        data = value.encode("utf-8")
    except UnicodeError:
        raise CBORError("text string is not valid Unicode (lone surrogate?)")
    if IS_MICROPYTHON and len(data) != len(value) and not utf8_strict(data):
        raise CBORError("text string is not valid Unicode (lone surrogate?)")
    out.extend(encode_head(_MAJOR_TEXT, len(data)))
    out.extend(data)


def _encode_scalar(out, value):
    """Append the encoding of a non-container ``value``; return False for a list,
    tuple or dict (appending nothing); raise CBORError for unsupported types."""
    if value is None:
        out.append(0xF6)
    elif value is True:
        out.append(0xF5)
    elif value is False:
        out.append(0xF4)
    else:
        t = type(value)
        if t is int:
            _encode_int(out, value)
        elif t is str:
            _encode_text(out, value)
        elif t is bytes or t is bytearray or t is memoryview:
            if t is memoryview:
                value = bytes(value)  # len() of a memoryview counts items, not bytes
            out.extend(encode_head(_MAJOR_BYTES, len(value)))
            out.extend(value)
        elif t is float:
            out.extend(_float_bytes(value))
        elif t is list or t is tuple or t is dict:
            return False
        else:
            raise CBORError("cannot encode value of type %s" % _type_name(value))
    return True


def _map_entries(value):
    """Return [key bytes, value, key bytes, value, ...] in canonical key order."""
    pairs = []
    for key, val in value.items():
        kout = bytearray()
        if not _encode_scalar(kout, key):
            raise CBORError("unsupported map key of type %s" % _type_name(key))
        pairs.append((bytes(kout), val))
    pairs.sort(key=_first)
    entries = []
    previous = None
    for kbytes, val in pairs:
        if kbytes == previous:
            raise CBORError("duplicate map key %s" % _hex(kbytes))
        previous = kbytes
        entries.append(kbytes)
        entries.append(val)
    return entries


def encode(value):
    """Return the RFC 8949 core deterministic encoding of ``value`` as bytes.

    Raise CBORError for values outside the value model (sets, objects, subclasses,
    lone surrogates, containers as map keys, nesting deeper than DEFAULT_MAX_DEPTH,
    map keys whose encodings collide).
    """
    out = bytearray()
    # No recursion (the firmware's C stack allows only a few dozen Python frames):
    # each open container is a frame [items, next index, is_map].
    stack = []
    while True:
        if not _encode_scalar(out, value):
            if len(stack) >= DEFAULT_MAX_DEPTH:
                raise CBORError("nesting deeper than %d" % DEFAULT_MAX_DEPTH)
            if type(value) is dict:
                out.extend(encode_head(_MAJOR_MAP, len(value)))
                if value:
                    stack.append([_map_entries(value), 0, True])
            else:
                out.extend(encode_head(_MAJOR_ARRAY, len(value)))
                if value:
                    stack.append([value, 0, False])
        while stack:
            frame = stack[-1]
            items = frame[0]
            i = frame[1]
            if i < len(items):
                if frame[2]:
                    out.extend(items[i])
                    i += 1
                value = items[i]
                frame[1] = i + 1
                break
            stack.pop()
        else:
            return bytes(out)


def _first(pair):
    return pair[0]


def _type_name(value):
    try:
        return type(value).__name__
    except AttributeError:
        return str(type(value))


def _hex(data):
    if len(data) > 16:
        return "".join("%02x" % b for b in data[:16]) + "..."
    return "".join("%02x" % b for b in data)


# ---------------------------------------------------------------- UTF-8


# MicroPython's str(b, "utf-8") checks only the structure of UTF-8 (lead bytes
# C0..F7, each followed by the right number of continuation bytes). Once it has
# accepted the bytes, every byte >= C0 is a lead byte, and RFC 3629 additionally
# forbids: C0 and C1 (overlong 2-byte forms), F5..F7 (above U+10FFFF), and these
# second bytes after E0, ED, F0, F4: overlong 3-byte forms, surrogates, overlong
# 4-byte forms, above U+10FFFF.
_UTF8_BAD_LEADS = (b"\xc0", b"\xc1", b"\xf5", b"\xf6", b"\xf7")
_UTF8_BAD_PAIRS = ((b"\xe0", 0x80, 0x9F), (b"\xed", 0xA0, 0xBF), (b"\xf0", 0x80, 0x8F), (b"\xf4", 0x90, 0xBF))


def utf8_strict(data):
    """Return True unless ``data`` (bytes of structurally valid UTF-8, as MicroPython
    checks it) holds an overlong form, a surrogate or a code point above U+10FFFF.
    Uses bytes.find, so text without such lead bytes costs a few C-speed scans."""
    for lead in _UTF8_BAD_LEADS:
        if lead in data:
            return False
    for lead, lo, hi in _UTF8_BAD_PAIRS:
        i = data.find(lead)
        while i >= 0:
            if lo <= data[i + 1] <= hi:
                return False
            i = data.find(lead, i + 2)
    return True


def decode_text(raw, offset):
    """Return the text of the UTF-8 bytes ``raw`` (a text string's content found at
    ``offset``); CBORError if they are not strict UTF-8."""
    try:
        text = str(raw, "utf-8")
    except UnicodeError:
        text = None
    if text is None or (IS_MICROPYTHON and len(text) != len(raw) and not utf8_strict(bytes(raw))):
        raise CBORError("invalid UTF-8 in text string at offset %d" % offset)
    return text


def _half_to_float(h):
    exp = (h >> 10) & 31
    mant = h & 1023
    # Only integer-to-float conversions and power-of-two scaling: exact everywhere
    # (MicroPython's decimal float literals and pow are not always exact).
    if exp == 0:
        value = mant / 16777216.0
    elif exp == 31:
        value = float("nan") if mant else float("inf")
    elif exp >= 25:
        value = float((1024 + mant) << (exp - 25))
    else:
        value = (1024 + mant) / float(1 << (25 - exp))
    if h & 0x8000:
        return -value
    return value


# ---------------------------------------------------------------- decoding


def truncated_error(needed, offset):
    """Return the CBORError for input that ends ``needed`` bytes short at ``offset``."""
    return CBORError("truncated: needed %d more bytes at offset %d" % (needed, offset))


def too_large_error(total, max_size):
    """Return the CBORError for an item of ``total`` bytes over ``max_size``."""
    return CBORError("item of %d bytes exceeds max_size %d" % (total, max_size))


def too_deep_error(max_depth):
    """Return the CBORError for arrays/maps nested deeper than ``max_depth``."""
    return CBORError("nesting deeper than %d" % max_depth)


def bad_ai_error(ai, offset):
    """Return the CBORError for a head with additional information ``ai`` (28..31)
    that canonical CBOR never uses, at ``offset``."""
    if ai == 31:
        return CBORError("indefinite length or break not allowed at offset %d" % offset)
    return CBORError("reserved additional information %d at offset %d" % (ai, offset))


class Decoder:
    """Decode canonical CBOR from a memoryview, advancing ``pos``."""

    def __init__(self, buf, max_depth, max_size):
        self.buf = buf
        self.pos = 0
        self.end = len(buf)
        self.max_depth = max_depth
        self.max_size = max_size

    def head(self):
        """Read a head; return (major, ai, argument). Floats return the raw bits."""
        buf = self.buf
        pos = self.pos
        if pos >= self.end:
            raise truncated_error(1, pos)
        ib = buf[pos]
        major = ib >> 5
        ai = ib & 31
        if ai < 24:
            self.pos = pos + 1
            return major, ai, ai
        if ai > 27:
            raise bad_ai_error(ai, pos)
        n = 1 << (ai - 24)
        start = pos + 1
        if self.end - start < n:
            raise truncated_error(n - (self.end - start), start)
        self.pos = start + n
        if n == 1:
            arg = buf[start]
        else:
            arg = int.from_bytes(buf[start : start + n], "big")
        if major != _MAJOR_SIMPLE and arg < _HEAD_MIN[ai - 24]:
            raise CBORError(
                "non-canonical: %s %d encoded in %d bytes at offset %d"
                % (_ARG_NAMES[major], arg, n + 1, pos)
            )
        return major, ai, arg

    def take(self, length):
        """Return a memoryview of the next ``length`` bytes."""
        if length > self.max_size:
            raise too_large_error(length, self.max_size)
        pos = self.pos
        if self.end - pos < length:
            raise truncated_error(length - (self.end - pos), pos)
        self.pos = pos + length
        return self.buf[pos : pos + length]

    def item(self):
        """Decode one item. No recursion: the firmware's C stack allows only a few
        dozen Python frames. Each open container is a frame
        [container, items left, is_map, key or _NO_KEY, previous key bytes, key start]."""
        stack = []
        max_depth = self.max_depth
        while True:
            start = self.pos
            major, ai, arg = self.head()
            if major == 0:
                value = arg
            elif major == 1:
                value = -1 - arg
            elif major == _MAJOR_BYTES:
                value = bytes(self.take(arg))
            elif major == _MAJOR_TEXT:
                value = decode_text(self.take(arg), start)
            elif major == _MAJOR_ARRAY or major == _MAJOR_MAP:
                if stack and stack[-1][2] and stack[-1][3] is _NO_KEY:
                    raise CBORError("unsupported map key at offset %d" % start)
                if len(stack) >= max_depth:
                    raise too_deep_error(max_depth)
                is_map = major == _MAJOR_MAP
                left = self.end - self.pos
                need = 2 * arg if is_map else arg
                if need > left:
                    raise truncated_error(need - left, self.pos)
                value = {} if is_map else []
                if arg:
                    stack.append([value, arg, is_map, _NO_KEY, None, self.pos])
                    continue
            elif major == _MAJOR_TAG:
                value = self.bignum(arg, start)
            else:
                value = self.simple(ai, arg, start)
            # Hand the value to the open containers, closing those that are full.
            while stack:
                frame = stack[-1]
                container = frame[0]
                if not frame[2]:
                    container.append(value)
                elif frame[3] is _NO_KEY:
                    kstart = frame[5]
                    kbytes = bytes(self.buf[kstart : self.pos])
                    previous = frame[4]
                    if previous is not None and kbytes <= previous:
                        if kbytes == previous:
                            raise CBORError(
                                "duplicate map key %s at offset %d" % (_hex(kbytes), kstart)
                            )
                        raise CBORError("non-canonical: map keys not sorted at offset %d" % kstart)
                    frame[4] = kbytes
                    frame[3] = value
                    break
                else:
                    size = len(container)
                    container[frame[3]] = value
                    if len(container) == size:
                        raise CBORError(
                            "duplicate map key (equal in Python) at offset %d" % frame[5]
                        )
                    frame[3] = _NO_KEY
                    frame[5] = self.pos
                frame[1] -= 1
                if frame[1]:
                    break
                stack.pop()
                value = container
            else:
                return value

    def bignum(self, tag, start):
        if tag != _TAG_POS_BIGNUM and tag != _TAG_NEG_BIGNUM:
            raise CBORError("unknown tag %d at offset %d" % (tag, start))
        cstart = self.pos
        major, ai, length = self.head()
        if major != _MAJOR_BYTES:
            raise CBORError("bignum tag %d must hold a byte string at offset %d" % (tag, cstart))
        data = self.take(length)
        if length == 0 or data[0] == 0:
            raise CBORError("non-canonical: bignum with leading zero bytes at offset %d" % start)
        mag = int.from_bytes(data, "big")
        if mag < _U64_LIMIT:
            raise CBORError("non-canonical: bignum %d fits in 64 bits at offset %d" % (mag, start))
        if tag == _TAG_NEG_BIGNUM:
            return -1 - mag
        return mag

    def simple(self, ai, arg, start):
        if ai < 24:
            if ai == 20:
                return False
            if ai == 21:
                return True
            if ai == 22:
                return None
            raise CBORError("unsupported simple value %d at offset %d" % (ai, start))
        if ai == 24:
            if arg < 32:
                raise CBORError("non-canonical: simple value %d in 2 bytes at offset %d" % (arg, start))
            raise CBORError("unsupported simple value %d at offset %d" % (arg, start))
        if ai == 25:
            value = _half_to_float(arg)
        else:
            raw = self.buf[start + 1 : self.pos]
            value = struct.unpack(">f" if ai == 26 else ">d", raw)[0]
        if _float_bytes(value) != bytes(self.buf[start : self.pos]):
            raise CBORError("non-canonical: float not in its shortest form at offset %d" % start)
        return value


def _as_view(data):
    t = type(data)
    if t is not bytes and t is not bytearray and t is not memoryview:
        raise CBORError("cannot decode from %s, need bytes" % _type_name(data))
    return memoryview(data)


def decode(data, max_depth=DEFAULT_MAX_DEPTH, max_size=DEFAULT_MAX_SIZE):
    """Return the value encoded canonically in ``data`` (bytes, bytearray or memoryview).

    ``data`` must hold exactly one item, at most ``max_size`` bytes, with arrays and
    maps nested at most ``max_depth`` deep. Raise CBORError otherwise.
    """
    buf = _as_view(data)
    if len(buf) > max_size:
        raise too_large_error(len(buf), max_size)
    dec = Decoder(buf, max_depth, max_size)
    value = dec.item()
    if dec.pos != dec.end:
        raise CBORError("%d trailing bytes after the item at offset %d" % (dec.end - dec.pos, dec.pos))
    return value
