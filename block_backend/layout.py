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

from block_backend.errors import FormatMismatch, GeometryError
from block_backend.records import align, crc32

MAGIC_ERASE = b"SPRE"
MAGIC_ALLOC = b"SPRA"
MAGIC_FOOT = b"SPRF"

FORMAT_VERSION = 2  # version 1: 12-byte erase header without the geometry
HDR_LEN = 12  # alloc header / footer: magic 4, u32 value, u32 crc32
FMT_LEN = 24  # format header: magic 4, u32 erase count, then the fields below
FMT_VERSION = 8  # u16 offsets of the format header's fields
FMT_PROG = 10
FMT_BLOCK_SIZE = 12  # u32
FMT_BLOCK_COUNT = 16  # u32
FMT_CRC = 20  # u32 crc32 of bytes [0, 20)

# limits of the format (checked by check_geometry at format and open)
MIN_BLOCK_SIZE = 512  # a commit (contents, tree, commit, ref) fits in a block
MAX_BLOCK_SIZE = 65536  # record offsets are u16 (summaries, deltas)
MIN_BLOCKS = 6  # a head, a compaction's copy and the reserve
MAX_BLOCKS = 65535  # block numbers are u16 (bad-block records)
MAX_PROG = 256  # the program unit: a power of two, 1 .. 256, dividing the block size


def header_size(prog):
    """Return ``H``: 12 bytes rounded up to the prog unit ``prog``."""
    return align(HDR_LEN, prog)


def format_header_size(prog):
    """Return ``E``: the format header's 24 bytes rounded up to ``prog``."""
    return align(FMT_LEN, prog)


def check_geometry(block_size, block_count, prog):
    """Raise GeometryError naming what is outside the format's limits (docs/SPEC.md
    "Limits"): the block size, block count or program unit."""
    if prog < 1 or prog > MAX_PROG or prog & (prog - 1):
        raise GeometryError("program unit %d is not a power of two from 1 to %d" % (prog, MAX_PROG))
    if block_size < MIN_BLOCK_SIZE or block_size > MAX_BLOCK_SIZE:
        raise GeometryError("block size %d is outside the format's %d..%d bytes"
                            % (block_size, MIN_BLOCK_SIZE, MAX_BLOCK_SIZE))
    if block_size % prog or block_size < 16 * prog:
        raise GeometryError("block size %d is not a multiple of the program unit %d (at least 16 units)"
                            % (block_size, prog))
    if block_count < MIN_BLOCKS or block_count > MAX_BLOCKS:
        raise GeometryError("block count %d is outside the format's %d..%d blocks"
                            % (block_count, MIN_BLOCKS, MAX_BLOCKS))


def encode_header(magic, value, size):
    """Return a header/footer unit: ``magic``, u32 ``value``, CRC, padded to ``size``."""
    b = magic + struct.pack("<I", value)
    b = b + struct.pack("<I", crc32(b))
    return b + b"\xff" * (size - HDR_LEN)


def parse_header(buf, magic):
    """Return the u32 value of a valid ``magic`` header at the start of ``buf``, or None."""
    b = bytes(buf[:HDR_LEN])
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
    if struct.unpack("<I", b[FMT_CRC:FMT_LEN])[0] == crc32(b[:FMT_CRC]):
        return struct.unpack("<IHHII", b[4:FMT_CRC])
    if struct.unpack("<I", b[8:12])[0] == crc32(b[:8]):
        return struct.unpack("<I", b[4:8])[0], 1, 0, 0, 0
    return None


def format_mismatch(fmt, prog, block_size, block_count):
    """Return a FormatMismatch naming the first difference between a parsed format
    header ``fmt`` and the geometry a store was opened with, or None when they agree."""
    if fmt[1] != FORMAT_VERSION:
        return FormatMismatch("image has format version %d, this reader reads version %d"
                              % (fmt[1], FORMAT_VERSION))
    if fmt[3] != block_size:
        return FormatMismatch("image has %d-byte blocks, device says %d" % (fmt[3], block_size))
    if fmt[4] != block_count:
        return FormatMismatch("image has %d blocks, device says %d" % (fmt[4], block_count))
    if fmt[2] != prog:
        return FormatMismatch("image has a %d-byte program unit, device says %d" % (fmt[2], prog))
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
