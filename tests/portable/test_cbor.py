"""portable_core.cbor: encodings (RFC 8949 Appendix A, deterministic forms), round
trips and decode_stream. Error paths are in test_cbor_errors.py.

Floats are built from their IEEE bits (``_f``), never from decimal literals:
MicroPython's float parser is not correctly rounded (3.4028234663852886e+38 parses
one ulp off), while the bits are the same on every runtime.
"""

import binascii
import io
import struct

from portable_core import cbor
from portable_core.cbor_stream import decode_stream


def _h(text):
    return binascii.unhexlify(text)


def _f(bits):
    """The double whose 16 hex digit IEEE 754 bits are ``bits``."""
    return struct.unpack(">d", _h(bits))[0]


def _same(a, b):
    """Equality that treats NaN as equal to NaN and tells -0.0 from 0.0."""
    if type(a) is not type(b):
        return False
    if type(a) is float:
        if a != a:
            return b != b
        return struct.pack(">d", a) == struct.pack(">d", b)
    if type(a) is list:
        if len(a) != len(b):
            return False
        for x, y in zip(a, b):
            if not _same(x, y):
                return False
        return True
    if type(a) is dict:
        if len(a) != len(b):
            return False
        for k in a:
            if k not in b or not _same(a[k], b[k]):
                return False
        return True
    return a == b


def _check(value, hexcode):
    data = _h(hexcode)
    got = cbor.encode(value)
    assert got == data, "encode(%r) = %s, want %s" % (value, binascii.hexlify(got), hexcode)
    back = cbor.decode(data)
    assert _same(back, value), "decode(%s) = %r, want %r" % (hexcode, back, value)
    # The same through decode_stream, one byte per read, with trailing bytes left unread.
    source = io.BytesIO(data + b"\xff\x00")
    assert _same(decode_stream(source.read), value)
    assert source.read() == b"\xff\x00"


# RFC 8949 Appendix A: integers.
def test_rfc_integers():
    _check(0, "00")
    _check(1, "01")
    _check(10, "0a")
    _check(23, "17")
    _check(24, "1818")
    _check(25, "1819")
    _check(100, "1864")
    _check(1000, "1903e8")
    _check(1000000, "1a000f4240")
    _check(1000000000000, "1b000000e8d4a51000")
    _check(18446744073709551615, "1bffffffffffffffff")
    _check(-18446744073709551616, "3bffffffffffffffff")
    _check(-1, "20")
    _check(-10, "29")
    _check(-100, "3863")
    _check(-1000, "3903e7")


def test_rfc_bignums():
    _check(18446744073709551616, "c249010000000000000000")
    _check(-18446744073709551617, "c349010000000000000000")


def test_head_boundaries():
    for n, code in (
        (255, "18ff"),
        (256, "190100"),
        (65535, "19ffff"),
        (65536, "1a00010000"),
        (4294967295, "1affffffff"),
        (4294967296, "1b0000000100000000"),
    ):
        _check(n, code)
        _check(-1 - n, "%x" % (0x2 | int(code[0], 16)) + code[1:])


def test_bignums_shortest_magnitude():
    _check(1 << 72, "c24a01" + "00" * 9)
    _check((1 << 72) - 1, "c249" + "ff" * 9)
    _check(-(1 << 72), "c349" + "ff" * 9)
    _check((1 << 200) + 5, "c2581a01" + "00" * 24 + "05")
    big = 1
    for _ in range(40):
        big = big * 1000003 + 7
    assert cbor.decode(cbor.encode(big)) == big
    assert cbor.decode(cbor.encode(-big)) == -big


# RFC 8949 Appendix A floats, with the deterministic (shortest exact) encodings.
def test_rfc_floats():
    _check(0.0, "f90000")
    _check(-0.0, "f98000")
    _check(1.0, "f93c00")
    _check(_f("3ff199999999999a"), "fb3ff199999999999a")  # 1.1
    _check(1.5, "f93e00")
    _check(65504.0, "f97bff")
    _check(100000.0, "fa47c35000")
    _check(_f("47efffffe0000000"), "fa7f7fffff")  # 3.4028234663852886e+38
    _check(_f("7e37e43c8800759c"), "fb7e37e43c8800759c")  # 1.0e+300
    _check(_f("3e70000000000000"), "f90001")  # 5.960464477539063e-8
    _check(_f("3f10000000000000"), "f90400")  # 0.00006103515625
    _check(-4.0, "f9c400")
    _check(_f("c010666666666666"), "fbc010666666666666")  # -4.1
    _check(float("inf"), "f97c00")
    _check(float("nan"), "f97e00")
    _check(float("-inf"), "f9fc00")


def test_float_widths():
    _check(0.5, "f93800")
    _check(_f("3f00000000000000"), "f90200")  # 2**-15: a half subnormal
    _check(_f("3e60000000000000"), "fa33000000")  # 2**-25: single, not half
    _check(_f("3f0ff80000000000"), "f903ff")  # largest half subnormal
    _check(_f("3810000000000000"), "fa00800000")  # smallest single normal 2**-126
    _check(_f("36a0000000000000"), "fa00000001")  # smallest single subnormal 2**-149
    _check(_f("3690000000000000"), "fb3690000000000000")  # 2**-150
    _check(_f("0000000000000001"), "fb0000000000000001")  # double subnormal
    _check(_f("7fefffffffffffff"), "fb7fefffffffffffff")
    _check(65505.0, "fa477fe100")
    _check(65536.0, "fa47800000")
    _check(_f("3ff0000020000000"), "fa3f800001")  # 1 + 2**-23
    _check(_f("3ff0000010000000"), "fb3ff0000010000000")  # 1 + 2**-24
    _check(_f("3ff0040000000000"), "f93c01")  # 1 + 2**-10
    _check(-_f("3ff0040000000000"), "f9bc01")
    # NaNs with payloads or a sign all encode as the one canonical NaN.
    _check(_f("7ff0000000000001"), "f97e00")
    _check(_f("fff8000000000000"), "f97e00")


# RFC 8949 Appendix A: simple values, strings.
def test_rfc_simple_and_strings():
    _check(False, "f4")
    _check(True, "f5")
    _check(None, "f6")
    _check(b"", "40")
    _check(b"\x01\x02\x03\x04", "4401020304")
    _check("", "60")
    _check("a", "6161")
    _check("IETF", "6449455446")
    _check("\"\\", "62225c")
    _check("\u00fc", "62c3bc")
    _check("\u6c34", "63e6b0b4")
    _check("\U00010151", "64f0908591")


def test_bytes_like_encode_as_bytes():
    assert cbor.encode(bytearray(b"ab")) == _h("426162")
    assert cbor.encode(memoryview(b"xab")[1:]) == _h("426162")
    assert type(cbor.decode(_h("426162"))) is bytes
    long = b"x" * 300
    assert cbor.encode(long) == _h("59012c") + long
    assert cbor.decode(cbor.encode(long)) == long


# RFC 8949 Appendix A: arrays and maps (definite forms).
def test_rfc_arrays():
    _check([], "80")
    _check([1, 2, 3], "83010203")
    _check([1, [2, 3], [4, 5]], "8301820203820405")
    _check(list(range(1, 26)), "98190102030405060708090a0b0c0d0e0f101112131415161718181819")
    assert cbor.encode((1, (2, 3))) == _h("8201820203")


def test_rfc_maps():
    _check({}, "a0")
    _check({1: 2, 3: 4}, "a201020304")
    _check({"a": 1, "b": [2, 3]}, "a26161016162820203")
    _check(["a", {"b": "c"}], "826161a161626163")
    _check(
        {"a": "A", "b": "B", "c": "C", "d": "D", "e": "E"},
        "a56161614161626142616361436164614461656145",
    )


def test_map_keys_sorted_bytewise():
    # RFC 8949 4.2.1 order (bytewise on the encoded keys), not RFC 7049 length-first:
    # 10 (0a), 100 (1864), -1 (20), "z" (617a), "aa" (626161), [..] impossible, b"" (40)
    value = {"aa": 5, "z": 4, -1: 3, 100: 2, 10: 1, b"": 6, False: 7, None: 8, 1.5: 9}
    _check(value, "a9" "0a01" "186402" "2003" "4006" "617a04" "62616105" "f407" "f608" "f93e0009")


def test_nested_round_trip():
    value = {
        "name": "sprig",
        "list": [1, -2, 3.5, None, True, False, b"\x00\xff", [], {}],
        "deep": [[[[[{"k": [1 << 80, -(1 << 90)]}]]]]],
        7: {b"key": "\u00e9t\u00e9"},
    }
    data = cbor.encode(value)
    assert _same(cbor.decode(data), value)
    assert cbor.encode(cbor.decode(data)) == data
    assert _same(cbor.decode(bytearray(data)), value)
    assert _same(cbor.decode(memoryview(b"\x00" + data)[1:]), value)


def test_max_depth_boundary():
    nested = []
    for _ in range(cbor.DEFAULT_MAX_DEPTH - 1):
        nested = [nested]
    data = cbor.encode(nested)
    assert data == b"\x81" * (cbor.DEFAULT_MAX_DEPTH - 1) + b"\x80"
    assert cbor.decode(data) == nested
    assert cbor.decode(b"\xa1\x01" * 3 + b"\x80", max_depth=4) == {1: {1: {1: []}}}
    # The full depth in maps and arrays: no recursion, so fine on the firmware too.
    nested = {}
    for i in range(cbor.DEFAULT_MAX_DEPTH - 1):
        nested = {"k": nested, "i": i} if i % 2 else [i, nested]
    data = cbor.encode(nested)
    assert cbor.decode(data) == nested
    assert decode_stream(io.BytesIO(data).read) == nested
    assert cbor.decode(b"\x81\x81\x00", max_depth=2) == [[0]]


def test_max_size_boundary():
    data = cbor.encode(b"x" * 100)
    assert len(data) == 102
    assert cbor.decode(data, max_size=102) == b"x" * 100
    assert decode_stream(io.BytesIO(data).read, max_size=102) == b"x" * 100


class _Reader:
    """A read(n) that records every request and hands out at most ``chunk`` bytes."""

    def __init__(self, data, chunk=1 << 30):
        self.data = data
        self.pos = 0
        self.chunk = chunk
        self.requests = []

    def read(self, n):
        self.requests.append(n)
        if n > self.chunk:
            n = self.chunk
        out = self.data[self.pos : self.pos + n]
        self.pos += len(out)
        return out


def test_decode_stream_reads_exactly_the_item():
    items = [0, 1 << 70, -2.5, "hello", b"x" * 1000, [1, [2, {"a": b"b"}]], {}, None]
    data = b"".join(cbor.encode(v) for v in items) + b"rest"
    reader = _Reader(data)
    for value in items:
        before = reader.pos
        assert _same(decode_stream(reader.read), value)
        assert reader.pos - before == len(cbor.encode(value))
    assert data[reader.pos :] == b"rest"
    assert max(reader.requests) <= 512


def test_decode_stream_short_reads():
    value = {"k": b"v" * 700, "l": [1.1, "\u6c34" * 50]}
    data = cbor.encode(value) + b"\x00"
    for chunk in (1, 2, 3, 7, 1000):
        reader = _Reader(data, chunk)
        assert _same(decode_stream(reader.read), value)
        assert reader.pos == len(data) - 1


def test_decode_stream_never_over_asks():
    data = cbor.encode(["ab", b"c" * 1500])
    reader = _Reader(data)
    decode_stream(reader.read)
    total = 0
    for n in reader.requests:
        total += n
    assert total == len(data)
