"""Errors of the flash store."""

from portable_core.storage import StorageError


class DeviceFull(StorageError):
    """No room left: the write was refused and nothing already stored was lost."""


class NotFormatted(StorageError):
    """The device holds no Sprig log (run FlashStore.format)."""


class NoSpace(Exception):
    """Internal: no free block to allocate (turned into DeviceFull by callers)."""


class BadBlock(Exception):
    """Internal: a program or erase of block ``block`` failed (I/O error, or the
    read-back differs); the block is marked bad and the write is retried."""

    def __init__(self, block):
        super().__init__("bad block %d" % block)
        self.block = block
