"""Errors of the flash store."""

from portable_core.storage import StorageError


class DeviceFull(StorageError):
    """No room left: the write was refused and nothing already stored was lost."""


class NotFormatted(StorageError):
    """The device holds no Sprig log (run FlashStore.format)."""


class FormatMismatch(StorageError):
    """The image was written in another format version or for another geometry
    (block size, block count, program unit) than the device or caller gives; the
    message names the first difference. Nothing was changed."""


class GeometryError(StorageError):
    """The device's geometry is outside the format's limits (docs/SPEC.md "Flash
    layout", "Limits"); the message names the offending size."""


class NoSpace(Exception):
    """Internal: no free block to allocate (turned into DeviceFull by callers)."""


class BadBlock(Exception):
    """Internal: a program or erase of block ``block`` failed (I/O error, or the
    read-back differs); the block is marked bad and the write is retried."""

    def __init__(self, block):
        super().__init__("bad block %d" % block)
        self.block = block


class NotErased(BadBlock):
    """Internal: the range about to be programmed in block ``block`` does not read
    erased (0xFF) -- a bit flipped in erased flash; nothing was programmed. The
    block is not bad: the head is sealed and the write retried (as for BadBlock)."""

    def __init__(self, block):
        super().__init__(block)
