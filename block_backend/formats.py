"""The errors of an image of another format, loaded only when one is raised (a
store that opens fine never pays their RAM; docs/SPEC.md "Opening", "Limits").

Catch them as ``StorageError``, or import them from here.
"""

from portable_core.storage import StorageError


class FormatMismatch(StorageError):
    """The image was written in another format version or for another geometry
    (block size, block count, program unit) than the device or caller gives; the
    message names the first difference. Nothing was changed."""


class GeometryError(StorageError):
    """The device's geometry is outside the format's limits (docs/SPEC.md
    "Limits"); the message names the offending size. Nothing was written."""


def check_geometry(block_size, block_count, prog):
    """Raise GeometryError naming what is outside the format's limits
    (docs/SPEC.md "Limits"): the program unit, block size or block count.
    (``FlashStore`` checks the same limits inline and calls this on a failure.)"""
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
        raise GeometryError(why)


def mismatch(fmt, version, prog, block_size, block_count):
    """Return the FormatMismatch naming the first difference between a parsed
    format header ``fmt`` (``layout.parse_format_header``) and the format a store
    was opened with."""
    if fmt[1] != version:
        return FormatMismatch("image has format version %d, this reader reads version %d" % (fmt[1], version))
    if fmt[3] != block_size:
        return FormatMismatch("image has %d-byte blocks, device says %d" % (fmt[3], block_size))
    if fmt[4] != block_count:
        return FormatMismatch("image has %d blocks, device says %d" % (fmt[4], block_count))
    return FormatMismatch("image has a %d-byte program unit, device says %d" % (fmt[2], prog))


def no_format_header(version):
    """Return the FormatMismatch of an image whose log blocks have no readable
    format header (version 1, or not Sprig's)."""
    return FormatMismatch("no block has a readable format header: not a version %d image" % version)
