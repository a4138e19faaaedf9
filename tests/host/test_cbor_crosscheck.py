"""portable_core.cbor against cbor2 (CPython only), on hypothesis-generated values.

Where cbor2 6.x and RFC 8949 section 4.2.1 part ways, our codec follows the RFC and
the test says so:

- Map key order. ``cbor2.dumps(v, canonical=True)`` sorts map keys length-first
  (the RFC 7049 "canonical" order); RFC 8949 4.2.1 sorts them bytewise on their
  encodings (``-1`` = 0x20 after ``1000`` = 0x1903e8). So we compare byte for byte
  with cbor2 whenever the two orders agree, and otherwise with a reference encoder
  that writes every leaf and every head with cbor2 but sorts keys bytewise; and our
  decoder must reject cbor2's differently ordered bytes as non-canonical.
- memoryview: cbor2 writes it as an array of small ints; we write a byte string.
  The strategies make bytes only.
- NaN: both write the one half-precision quiet NaN f97e00, whatever the payload or
  sign, so NaNs of every payload are generated.
"""

import io
import math
import struct

import cbor2
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from portable_core import cbor
from portable_core.cbor_stream import decode_stream

# ------------------------------------------------------------------ strategies

any_float = st.one_of(
    st.floats(),  # nan (various payloads), +-inf, -0.0, subnormals
    st.floats(width=16),  # exactly representable as half: the short forms
    st.floats(width=32),
    st.integers(0, (1 << 64) - 1).map(lambda b: struct.unpack(">d", b.to_bytes(8, "big"))[0]),
)

any_int = st.one_of(
    st.integers(),
    st.integers(-(1 << 70), 1 << 70),
    st.integers(-(1 << 300), 1 << 300),
    st.sampled_from([0, 23, 24, 255, 256, 65535, 65536, (1 << 32) - 1, 1 << 32, (1 << 64) - 1,
                     1 << 64, -(1 << 64), -(1 << 64) - 1]),
)

leaves = st.one_of(
    st.none(),
    st.booleans(),
    any_int,
    any_float,
    st.text(),
    st.binary(),
)

keys = st.one_of(st.text(max_size=8), any_int, st.binary(max_size=8))

values = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=6),
        st.dictionaries(keys, children, max_size=6),
    ),
    max_leaves=40,
)

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Nested values are slow to generate; fewer of them.
NESTED = settings(SETTINGS, max_examples=150)

# ------------------------------------------------------------------ helpers


def same(a, b):
    """Deep equality: exact types, NaN equals NaN, -0.0 differs from 0.0."""
    if type(a) is not type(b):
        return False
    if type(a) is float:
        if math.isnan(a):
            return math.isnan(b)
        return struct.pack(">d", a) == struct.pack(">d", b)
    if type(a) is list:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if type(a) is dict:
        return len(a) == len(b) and all(k in b and same(v, b[k]) for k, v in a.items())
    return a == b


def cbor2_canonical(value):
    return cbor2.dumps(value, canonical=True)


def cbor2_head(major, length):
    out = io.BytesIO()
    cbor2.CBOREncoder(out, canonical=True).encode_length(major, length)
    return out.getvalue()


def reference(value):
    """RFC 8949 4.2.1 encoding built from cbor2's leaves and heads, keys sorted bytewise."""
    if isinstance(value, list):
        return cbor2_head(4, len(value)) + b"".join(reference(v) for v in value)
    if isinstance(value, dict):
        entries = sorted((cbor2_canonical(k), reference(v)) for k, v in value.items())
        return cbor2_head(5, len(value)) + b"".join(k + v for k, v in entries)
    return cbor2_canonical(value)


def orders_agree(value):
    """True when every map's length-first and bytewise key orders coincide."""
    if isinstance(value, list):
        return all(orders_agree(v) for v in value)
    if isinstance(value, dict):
        encoded = [cbor2_canonical(k) for k in value]
        if sorted(encoded) != sorted(encoded, key=lambda k: (len(k), k)):
            return False
        return all(orders_agree(v) for v in value.values())
    return True


def nesting(value):
    if isinstance(value, list):
        return 1 + max([nesting(v) for v in value] or [0])
    if isinstance(value, dict):
        return 1 + max([nesting(v) for v in value.values()] or [0])
    return 0


# ------------------------------------------------------------------ tests


@NESTED
@given(values)
def test_matches_reference_encoding(value):
    assert cbor.encode(value) == reference(value)


@NESTED
@given(values)
def test_matches_cbor2_canonical(value):
    ours = cbor.encode(value)
    theirs = cbor2_canonical(value)
    if orders_agree(value):
        assert ours == theirs
        assert same(cbor.decode(theirs), value)
    else:
        # Same entries, cbor2's length-first order: ours must refuse it.
        assert len(ours) == len(theirs) and sorted(ours) == sorted(theirs)
        with pytest.raises(cbor.CBORError, match="not sorted"):
            cbor.decode(theirs)


@NESTED
@given(values)
def test_round_trips(value):
    data = cbor.encode(value)
    assert same(cbor.decode(data), value)
    assert same(cbor2.loads(data), value)
    source = io.BytesIO(data + b"\x00tail")
    assert same(decode_stream(source.read), value)
    assert source.read() == b"\x00tail"
    depth = nesting(value)
    if depth > 1:
        with pytest.raises(cbor.CBORError, match="nesting deeper than"):
            cbor.decode(data, max_depth=depth - 1)
        cbor.decode(data, max_depth=depth)


@SETTINGS
@given(any_float)
def test_floats_match_cbor2(value):
    ours = cbor.encode(value)
    assert ours == cbor2_canonical(value)
    back = cbor.decode(ours)
    assert same(back, value) or (math.isnan(value) and math.isnan(back))
    assert cbor.encode(back) == ours


@SETTINGS
@given(st.integers(0, 0xFFFF))
def test_every_half_float(bits):
    """Each 2-byte float either is the canonical form of its value or is refused."""
    data = bytes((0xF9,)) + bits.to_bytes(2, "big")
    value = cbor2.loads(data)
    if cbor2_canonical(value) == data:
        assert same(cbor.decode(data), value)
    else:
        with pytest.raises(cbor.CBORError, match="non-canonical"):
            cbor.decode(data)


@SETTINGS
@given(st.integers(0, 0xFFFFFFFF))
def test_single_floats(bits):
    data = bytes((0xFA,)) + bits.to_bytes(4, "big")
    value = cbor2.loads(data)
    if cbor2_canonical(value) == data:
        assert same(cbor.decode(data), value)
    else:
        with pytest.raises(cbor.CBORError, match="non-canonical"):
            cbor.decode(data)


@SETTINGS
@given(any_int)
def test_ints_match_cbor2(value):
    assert cbor.encode(value) == cbor2_canonical(value)
    assert cbor.decode(cbor2_canonical(value)) == value


@SETTINGS
@given(st.binary(max_size=40))
def test_random_bytes_are_canonical_or_refused(data):
    """Whatever decode accepts, encode gives back byte for byte, and cbor2 agrees."""
    try:
        value = cbor.decode(data)
    except cbor.CBORError:
        return
    assert cbor.encode(value) == data
    assert same(cbor2.loads(data), value)


@NESTED
@given(values, st.data())
def test_mutations_are_canonical_or_refused(value, data):
    encoded = cbor.encode(value)
    assume(encoded)
    i = data.draw(st.integers(0, len(encoded) - 1))
    byte = data.draw(st.integers(0, 255))
    mutated = encoded[:i] + bytes((byte,)) + encoded[i + 1 :]
    try:
        back = cbor.decode(mutated)
    except cbor.CBORError:
        return
    assert cbor.encode(back) == mutated


def micropython_utf8_check(data):
    """A model of MicroPython 1.25's utf8_check (py/unicode.c): structure only."""
    need = 0
    for c in data:
        if need:
            if c & 0xC0 != 0x80:
                return False
            need -= 1
        elif c >= 0xF8:
            return False
        elif c >= 0xC0:
            need = (0xE5 >> ((c >> 3) & 0x6)) & 3
        elif c >= 0x80:
            return False
    return need == 0


def cpython_utf8_ok(data):
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


cont = st.integers(0x80, 0xBF)
structured_utf8 = st.lists(
    st.one_of(
        st.integers(0, 0x7F).map(lambda c: bytes([c])),
        st.tuples(st.integers(0xC0, 0xDF), cont).map(bytes),
        st.tuples(st.integers(0xE0, 0xEF), cont, cont).map(bytes),
        st.tuples(st.integers(0xF0, 0xF7), cont, cont, cont).map(bytes),
    ),
    max_size=6,
).map(b"".join)


@SETTINGS
@given(st.one_of(structured_utf8, st.binary(max_size=10), st.text().map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_micropython_utf8_check_completed_by_utf8_strict(data):
    """On MicroPython, decode accepts text iff MicroPython's structural check and
    cbor.utf8_strict both pass: that must equal CPython's strict UTF-8 decoder."""
    if micropython_utf8_check(data):
        assert cbor.utf8_strict(data) == cpython_utf8_ok(data)
    else:
        assert not cpython_utf8_ok(data)


def test_memoryview_of_wide_items_encodes_all_its_bytes():
    import array

    view = memoryview(array.array("H", [1, 2, 3]))
    assert cbor.encode(view) == b"\x46" + view.tobytes()
    assert cbor.encode([view, memoryview(b"ab")]) == b"\x82\x46" + view.tobytes() + b"\x42ab"
