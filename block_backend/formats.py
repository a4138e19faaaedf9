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
