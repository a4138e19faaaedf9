"""portable_core.cbor error paths: truncation, limits, non-canonical input, malformed
input, values outside the model. Every failure must be a CBORError (a ValueError)
with a message that says what is wrong."""

import binascii
import io

from portable_core import cbor
from portable_core.cbor_stream import decode_stream


def _h(text):
    return binascii.unhexlify(text.replace(" ", ""))


def _fails(data, words, **limits):
    """Assert that decode(data) raises CBORError whose message contains ``words``."""
    try:
        value = cbor.decode(data, **limits)
    except cbor.CBORError as exc:
        msg = str(exc)
        assert words in msg, "decode(%s): %r lacks %r" % (binascii.hexlify(data), msg, words)
        return msg
    raise AssertionError("decode(%s) returned %r" % (binascii.hexlify(data), value))


def _fails_hex(code, words, **limits):
    return _fails(_h(code), words, **limits)


def _stream_fails(data, words, **limits):
    source = io.BytesIO(data)
    try:
        value = decode_stream(source.read, **limits)
    except cbor.CBORError as exc:
        assert words in str(exc), "stream %s: %r lacks %r" % (binascii.hexlify(data), str(exc), words)
        return source.tell()
    raise AssertionError("decode_stream(%s) returned %r" % (binascii.hexlify(data), value))


def _encode_fails(value, words):
    try:
        data = cbor.encode(value)
    except cbor.CBORError as exc:
        assert words in str(exc), "encode: %r lacks %r" % (str(exc), words)
        return
    raise AssertionError("encode returned %s" % binascii.hexlify(data))


VALID = (
    "1bffffffffffffffff",
    "3bffffffffffffffff",
    "c249010000000000000000",
    "c349010000000000000000",
    "fb7e37e43c8800759c",
    "fa47c35000",
    "f93e00",
    "64f0908591",
    "4401020304",
    "8301820203820405",
    "a26161016162820203",
    "826161a161626163",
    "a201020304",
    "59012c" + "78" * 300,
)


def test_error_is_value_error():
    assert issubclass(cbor.CBORError, ValueError)
    assert cbor.DEFAULT_MAX_DEPTH == 32
    assert cbor.DEFAULT_MAX_SIZE == 1048576


def test_truncated_at_every_prefix():
    for code in VALID:
        data = _h(code)
        cbor.decode(data)
        for cut in range(len(data)):
            _fails(data[:cut], "truncated")
            assert _stream_fails(data[:cut], "truncated") == cut


def test_truncated_message():
    msg = _fails_hex("1a0000", "truncated")
    assert msg == "truncated: needed 2 more bytes at offset 1", msg
    msg = _fails_hex("82 01 45 0102", "truncated")
    assert msg == "truncated: needed 3 more bytes at offset 3", msg


def test_trailing_bytes():
    _fails_hex("00 00", "trailing")
    _fails_hex("80 ff", "trailing")
    _fails_hex("f6 f6 f6", "2 trailing bytes")


def test_nesting_too_deep():
    depth = cbor.DEFAULT_MAX_DEPTH
    _fails(b"\x81" * depth + b"\x80", "nesting deeper than 32")
    _fails(b"\xa1\x00" * depth + b"\xa0", "nesting deeper than 32")
    _fails(b"\x81" * (depth * 100) + b"\x80", "nesting deeper than 32")
    _stream_fails(b"\x81" * (depth * 100) + b"\x80", "nesting deeper than 32")
    _fails_hex("818180", "nesting deeper than 2", max_depth=2)
    _stream_fails(_h("a100a100a0"), "nesting deeper than 2", max_depth=2)
    _fails_hex("80", "nesting deeper than 0", max_depth=0)
    nested = []
    for _ in range(depth):
        nested = [nested]
    _encode_fails(nested, "nesting deeper than 32")
    loop = []
    loop.append(loop)
    _encode_fails(loop, "nesting deeper than 32")


def test_oversized_lengths():
    msg = _fails_hex("5a 00011170", "exceeds max_size", max_size=65536)
    assert msg == "item of 70000 bytes exceeds max_size 65536", msg
    _fails_hex("7b ffffffffffffffff", "exceeds max_size")
    _fails(b"\x00" * 11, "item of 11 bytes exceeds max_size 10", max_size=10)
    _fails_hex("9b ffffffffffffffff 00", "truncated")
    _fails_hex("bb 7fffffffffffffff 00", "truncated")
    _fails_hex("c2 5b ffffffffffffffff", "exceeds max_size")
    # A stream claiming a 4 GB string fails at once, having read only the head.
    for code in ("5a ffffffff", "7b 0000000100000000", "9b ffffffffffffffff", "c3 5a ffffffff"):
        read = _stream_fails(_h(code) + b"x" * 100, "exceeds max_size")
        assert read == len(_h(code)), code
    _stream_fails(_h("83 43 616263 43 646566 41"), "exceeds max_size", max_size=10)
    _stream_fails(_h("5a 00000100") + b"x" * 50, "truncated")


def test_non_canonical_heads():
    for major in range(7):
        for ai, width in ((24, 1), (25, 2), (26, 4), (27, 8)):
            small = {24: 23, 25: 255, 26: 65535, 27: 4294967295}[ai]
            _fails(bytes(((major << 5) | ai,)) + small.to_bytes(width, "big"), "non-canonical")
    msg = _fails_hex("1805", "non-canonical")
    assert msg == "non-canonical: integer 5 encoded in 2 bytes at offset 0", msg
    _fails_hex("190005", "integer 5 encoded in 3 bytes")
    _fails_hex("38 00", "non-canonical")
    _fails_hex("58 01 00", "length 1 encoded in 2 bytes")
    _fails_hex("98 00", "count 0 encoded in 2 bytes")
    _fails_hex("d8 02 49 010000000000000000", "tag 2 encoded in 2 bytes")
    _fails_hex("81 1b 0000000000000001", "non-canonical")


def test_non_canonical_floats():
    for code in (
        "fa3f800000",  # 1.0 as single
        "fb3ff0000000000000",  # 1.0 as double
        "fb3ff8000000000000",  # 1.5 as double
        "fb40f86a0000000000",  # 100000.0 as double
        "fa80000000",  # -0.0 as single
        "fa00000000",  # 0.0 as single
        "fa7f800000",  # inf as single
        "fbfff0000000000000",  # -inf as double
        "f97e01",  # NaN with a payload
        "f9fe00",  # negative NaN
        "f97c01",  # signalling NaN
        "fa7fc00000",  # NaN as single
        "fb7ff8000000000000",  # NaN as double
        "fa33800000",  # 2**-24 as single
    ):
        _fails_hex(code, "non-canonical")


def test_non_canonical_bignums():
    _fails_hex("c2 48 0100000000000000", "fits in 64 bits")
    _fails_hex("c2 49 000100000000000000", "leading zero")
    _fails_hex("c2 4a 00010000000000000000", "leading zero")
    _fails_hex("c3 48 ffffffffffffffff", "fits in 64 bits")
    _fails_hex("c2 40", "non-canonical")
    _fails_hex("c2 41 01", "non-canonical")
    _fails_hex("c2 00", "byte string")
    _fails_hex("c3 69 010000000000000000", "byte string")
    _fails_hex("c2 c2 49 010000000000000000", "byte string")
    _stream_fails(_h("c2 c2 c2 c2 00"), "byte string")


def test_map_key_order_and_duplicates():
    msg = _fails_hex("a2 01 00 01 00", "duplicate map key")
    assert msg == "duplicate map key 01 at offset 3", msg
    _fails_hex("a2 6161 00 6161 01", "duplicate map key")
    _fails_hex("a2 02 00 01 00", "not sorted")
    # RFC 7049 length-first order (what cbor2's canonical mode writes) is rejected.
    _fails_hex("a2 20 00 1903e8 00", "not sorted")
    _fails_hex("a2 6162 00 616100", "not sorted")
    # Keys with different encodings but equal in Python would silently merge.
    _fails_hex("a2 01 00 f93c00 00", "equal in Python")
    _fails_hex("a2 01 00 f5 00", "equal in Python")
    _fails_hex("a2 00 00 f90000 00", "equal in Python")


def test_unsupported_map_keys():
    _fails_hex("a1 80 00", "unsupported map key")
    _fails_hex("a1 a0 00", "unsupported map key")
    _fails_hex("a1 8101 00", "unsupported map key")
    _encode_fails({(1, 2): 3}, "unsupported map key")
    _encode_fails({float("nan"): 1, float("nan"): 2}, "duplicate map key")


def test_indefinite_and_reserved():
    for code in ("5f 41 00 ff", "7f ff", "9f ff", "bf ff", "ff", "1f", "3f", "df 00", "82 01 ff"):
        _fails_hex(code, "indefinite")
        _stream_fails(_h(code), "indefinite")
    for major in range(8):
        for ai in (28, 29, 30):
            code = "%02x" % ((major << 5) | ai)
            _fails_hex(code + "00", "reserved additional information %d" % ai)
            _stream_fails(_h(code), "reserved")


def test_unknown_tags():
    for code in ("c0 74 323031332d30332d32315432303a30343a30305a", "c1 1a514b67b0", "d8 20 00",
                 "d9 d9f7 00", "c4 82 21 19 6ab3", "c6 00", "da 00010000 00"):
        _fails_hex(code, "unknown tag")
        _stream_fails(_h(code), "unknown tag")


def test_simple_values():
    _fails_hex("f7", "unsupported simple value 23")
    for ai in range(20):
        _fails(bytes((0xE0 | ai,)), "unsupported simple value %d" % ai)
    _fails_hex("f8 ff", "unsupported simple value 255")
    _fails_hex("f8 20", "unsupported simple value 32")
    _fails_hex("f8 14", "non-canonical")
    _fails_hex("f8 00", "non-canonical")


def test_bad_utf8():
    for code in (
        "61 ff",
        "61 80",  # lone continuation byte
        "62 c080",  # overlong NUL
        "62 c1bf",  # overlong
        "63 e08080",  # overlong 3-byte
        "63 eda080",  # surrogate U+D800
        "63 edbfbf",  # surrogate U+DFFF
        "64 f0808080",  # overlong 4-byte
        "64 f4908080",  # above U+10FFFF
        "64 f8888080",
        "62 e6b0",  # cut sequence
        "63 e6b041",  # continuation missing
        "66 414243 e6b0 41",
    ):
        _fails_hex(code, "invalid UTF-8")
    assert cbor.decode(_h("63 ed9fbf")) == "\ud7ff"
    assert cbor.decode(_h("63 ee8080")) == "\ue000"
    assert cbor.decode(_h("64 f48fbfbf")) == "\U0010ffff"
    assert cbor.decode(_h("62 c280")) == "\x80"


def test_utf8_strict():
    # The checks MicroPython's str(b, "utf-8") leaves out, on structurally valid UTF-8.
    valid = ("", "abc", "\u00fc", "\u6c34", "\U00010151", "\U0010ffff", "\ud7ff\ue000a\u0800")
    for text in valid:
        assert cbor.utf8_strict(text.encode())
    for code in ("c0af", "c1bf", "e0809f", "eda080", "edbfbf", "f08f8080", "f4908080", "f5808080",
                 "41 e6b0b4 eda080", "e6b0b4 f4908080 41"):
        assert not cbor.utf8_strict(_h(code)), code


def test_encode_unsupported_types():
    _encode_fails(set([1]), "type set")
    _encode_fails(object(), "type object")
    _encode_fails([1, {"a": {1, 2}}], "type set")
    _encode_fails({"a": frozenset()}, "type frozenset")
    _encode_fails(cbor.CBORError, "type")
    _encode_fails(len, "type")
    _encode_fails({1: 2}.items(), "type")

    class MyInt(int):
        pass

    _encode_fails(MyInt(3), "type MyInt")
    _encode_fails("\ud800", "not valid Unicode")


def test_decode_input_type():
    for bad in ("00", None, 0, [0]):
        try:
            cbor.decode(bad)
        except cbor.CBORError as exc:
            assert "cannot decode" in str(exc)
        else:
            raise AssertionError("decode(%r) passed" % (bad,))
    _fails(b"", "truncated")
    _stream_fails(b"", "truncated")


def test_stream_read_contract():
    def greedy(n):
        return b"\x00\x00"

    try:
        decode_stream(greedy)
    except cbor.CBORError as exc:
        assert "more bytes than requested" in str(exc)
    else:
        raise AssertionError("over-long read accepted")


def test_accepted_input_is_canonical():
    """Mutations of valid encodings either fail with CBORError or decode to a value
    whose encoding is exactly the input: decode accepts only canonical bytes."""
    seed = cbor.encode([1, -300, 2.5, 100000.0, "\u00fc", b"\x05", {"a": None, 3: [True]}, 1 << 70])
    for i in range(len(seed)):
        b = seed[i]
        for new in (0x00, 0x17, 0x18, 0x1B, 0x41, 0x5F, 0x61, 0x7F, 0x82, 0x9F, 0xA1, 0xC2, 0xF9,
                    0xFF, b ^ 1, b ^ 0x20, b ^ 0x80, (b + 1) & 255):
            data = seed[:i] + bytes((new,)) + seed[i + 1 :]
            try:
                value = cbor.decode(data)
            except cbor.CBORError:
                continue
            assert cbor.encode(value) == data, binascii.hexlify(data)
        for cut in (i, i + 1):
            data = seed[:cut] + seed[cut + 1 :]
            try:
                value = cbor.decode(data)
            except cbor.CBORError:
                continue
            assert cbor.encode(value) == data, binascii.hexlify(data)
