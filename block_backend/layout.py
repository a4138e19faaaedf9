"""Block layout (docs/SPEC.md "Flash layout"): the format (erase) header, the alloc
header, the footer, the summary record of a sealed block; the format's limits.

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


def check_geometry(block_size, block_count, prog):
    """Raise GeometryError (``block_backend.formats``) naming what is outside the
    format's limits (docs/SPEC.md "Limits"): the program unit, block size or
    block count."""
    why = None
    if prog < 1 or prog > 256 or prog & (prog - 1):  # headers are padded to whole units
        why = "program unit %d is not a power of two from 1 to 256" % prog
    elif block_size < 512 or block_size > 65536:  # a commit fits; record offsets are u16
        why = "block size %d is outside the format's 512..65536 bytes" % block_size
    elif block_size % prog or block_size < 16 * prog:
        why = "block size %d is not a multiple of the program unit %d (at least 16 units)" % (block_size, prog)
    elif block_count < 6 or block_count > 65535:  # a head, a compaction's copy and the
        # reserve; block numbers are u16 (bad-block records)
        why = "block count %d is outside the format's 6..65535 blocks" % block_count
    if why is not None:
        from block_backend.formats import GeometryError

        raise GeometryError(why)


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


def encode_format_header(erase_count, prog, block_size, block_count, size):
    """Return the format header of a block erased ``erase_count`` times, padded to ``size``."""
    b = MAGIC_ERASE + struct.pack("<IHHII", erase_count, FORMAT_VERSION, prog, block_size, block_count)
    return b + struct.pack("<I", crc32(b)) + b"\xff" * (size - FMT_LEN)


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
