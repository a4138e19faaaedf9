"""Raw objects: a one-byte type tag followed by the canonical CBOR encoding of a body.

The id of an object is the SHA-256 of its raw bytes (tag included), so two objects
of different kinds never share an id. Ids are 32 raw bytes inside Sprig and 64
lowercase hex digits where people see them; a unique hex prefix is accepted wherever
a user types an id (``resolve_prefix``).
"""

import binascii

from portable_core import cbor
from portable_core.storage import object_id

TAG_CONTENTS = 0x42  # "B": a stored value (blob)
TAG_NODE = 0x54  # "T": a tree node
TAG_COMMIT = 0x43  # "C": a commit

KIND_NAMES = {TAG_CONTENTS: "contents", TAG_NODE: "node", TAG_COMMIT: "commit"}


class ObjectError(ValueError):
    """Raw bytes that are not a well-formed Sprig object."""


def encode_object(tag, body):
    """Return the raw bytes of an object of type ``tag`` whose body is the value ``body``."""
    return bytes((tag,)) + cbor.encode(body)


def decode_object(raw):
    """Return ``(tag, body)`` decoded from raw object bytes; raise ObjectError if malformed."""
    if len(raw) < 2:
        raise ObjectError("object too short")
    tag = raw[0]
    if tag not in KIND_NAMES:
        raise ObjectError("unknown object type 0x%02x" % tag)
    try:
        body = cbor.decode(memoryview(raw)[1:])
    except cbor.CBORError as exc:
        raise ObjectError("bad %s object: %s" % (KIND_NAMES[tag], exc))
    return tag, body


def to_hex(oid):
    """Return the 64-digit lowercase hex form of a 32-byte id."""
    return binascii.hexlify(oid).decode()


def from_hex(text):
    """Return the 32-byte id written as 64 hex digits in ``text``; ValueError otherwise."""
    if len(text) != 64:
        raise ValueError("an id is 64 hex digits, got %d characters" % len(text))
    try:
        return binascii.unhexlify(text)
    except Exception:
        raise ValueError("not a hex id: %r" % text)


def resolve_prefix(objects, prefix, tag=None):
    """Return the one id in ``objects`` (an ObjectStore) whose hex form starts with
    ``prefix``, optionally of type ``tag``; ValueError if none or several match.

    A full 64-digit id is looked up directly; a shorter prefix (at least 4 digits)
    scans the store's ids.
    """
    prefix = prefix.lower()
    for ch in prefix:
        if ch not in "0123456789abcdef":
            raise ValueError("not a hex id prefix: %r" % prefix)
    if len(prefix) == 64:
        oid = from_hex(prefix)
        if objects.mem(oid) and (tag is None or objects.get(oid)[0] == tag):
            return oid
        raise ValueError("no object %s" % prefix)
    if len(prefix) < 4:
        raise ValueError("an id prefix needs at least 4 hex digits: %r" % prefix)
    found = None
    for oid in objects.iterate():
        if to_hex(oid).startswith(prefix):
            if tag is not None and objects.get(oid)[0] != tag:
                continue
            if found is not None and found != oid:
                raise ValueError("id prefix %s is ambiguous" % prefix)
            found = oid
    if found is None:
        raise ValueError("no object matches %s" % prefix)
    return found
