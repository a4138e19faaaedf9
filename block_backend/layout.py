"""Block layout (docs/SPEC.md "Flash layout"): the format (erase) header, the alloc
header, the footer, the summary record of a sealed block (the format's limits:
``formats.check_geometry``).

``E = roundup(24, P)``: the format header ``"SPRE" u32 erase_count u16 version
u16 prog_size u32 block_size u32 block_count u32 crc32`` at ``[0, E)``, written
after every erase, so every block states the format it belongs to.
``H = roundup(12, P)``: the alloc header ``"SPRA" u32 seq u32 crc32`` at
``[E, E + H)`` and the footer ``"SPRF" u32 summary_offset u32 crc32`` at
``[B - H, B)``. Padding is 0xFF.
"""

import struct

from block_backend.records import align, crc32

MAGIC_ERASE = b"SPRE"
MAGIC_ALLOC = b"SPRA"
MAGIC_FOOT = b"SPRF"

FORMAT_VERSION = 2  # version 1: 12-byte erase header without the geometry
FMT_LEN = 24  # format header: magic 4, u32 erase count, u16 version, u16 prog, u32 B, u32 N, u32 crc
# (the alloc header and footer: magic 4, u32 value, u32 crc32 of the first 8 bytes:
# 12 bytes; the format header's crc32 is at 20. Literals below: module globals
# cost heap on MicroPython.)


def header_size(prog):
    """Return ``H``: 12 bytes rounded up to the prog unit ``prog``."""
    return align(12, prog)


def encode_header(magic, value, size, fields=b""):
    """Return a header/footer unit: ``magic``, u32 ``value``, ``fields``, the CRC
    of all that, padded to ``size``. A format header's ``fields``:
    ``struct.pack("<HHII", FORMAT_VERSION, prog, block_size, block_count)``."""
    b = magic + struct.pack("<I", value) + fields
    b = b + struct.pack("<I", crc32(b))
    return b + b"\xff" * (size - len(b))


def parse_header(buf, magic):
    """Return the u32 value of a valid ``magic`` header at the start of ``buf``, or None."""
    b = bytes(buf[:12])
    if b[:4] != magic or struct.unpack("<I", b[8:12])[0] != crc32(b[:8]):
        return None
    return struct.unpack("<I", b[4:8])[0]


def parse_format_header(buf):
    """Return ``(erase_count, version, prog, block_size, block_count)`` of a valid
    format header at the start of ``buf`` (``buf``: at least FMT_LEN bytes), or
    None. A version 1 erase header (``"SPRE" u32 erase_count u32 crc32``) gives
    ``(erase_count, 1, 0, 0, 0)``: its wear is kept, its geometry unknown."""
    b = bytes(buf[:FMT_LEN])
    if b[:4] != MAGIC_ERASE:
        return None
    if struct.unpack("<I", b[20:24])[0] == crc32(b[:20]):
        return struct.unpack("<IHHII", b[4:20])
    if struct.unpack("<I", b[8:12])[0] == crc32(b[:8]):
        return struct.unpack("<I", b[4:8])[0], 1, 0, 0, 0
    return None


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
