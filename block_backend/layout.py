"""Block layout (docs/SPEC.md "Flash layout"): erase and alloc headers, the footer,
the summary record of a sealed block.

``H = roundup(12, P)``: a header or footer is ``magic(4) u32 value u32 crc32``
padded with 0xFF to ``H`` bytes. The erase header is at ``[0, H)``, the alloc
header at ``[H, 2H)``, the footer at ``[B - H, B)``.
"""

import struct

from block_backend.records import align, crc32

MAGIC_ERASE = b"SPRE"
MAGIC_ALLOC = b"SPRA"
MAGIC_FOOT = b"SPRF"


def header_size(prog):
    """Return ``H``: 12 bytes rounded up to the prog unit ``prog``."""
    return align(12, prog)


def encode_header(magic, value, size):
    """Return a header/footer unit: ``magic``, u32 ``value``, CRC, padded to ``size``."""
    b = magic + struct.pack("<I", value)
    b = b + struct.pack("<I", crc32(b))
    return b + b"\xff" * (size - 12)


def parse_header(buf, magic):
    """Return the u32 value of a valid ``magic`` header at the start of ``buf``, or None."""
    b = bytes(buf[:12])
    if b[:4] != magic or struct.unpack("<I", b[8:12])[0] != crc32(b[:8]):
        return None
    return struct.unpack("<I", b[4:8])[0]


def summary_payload(prefixes, offsets):
    """Return a summary record's payload: the 4-byte id prefixes, then u16 offsets."""
    return bytes(prefixes) + b"".join(struct.pack("<H", o) for o in offsets)


def parse_summary(p):
    """Return ``(prefixes, offsets)`` from a summary record's payload ``p``."""
    k = len(p) // 6
    offs = [p[4 * k + 2 * j] | (p[4 * k + 2 * j + 1] << 8) for j in range(k)]
    return bytes(p[:4 * k]), offs


def summary_size(nobj, prog):
    """Return the bytes a summary record of ``nobj`` objects takes, padded to ``prog``."""
    return align(8 + 6 * nobj, prog)
