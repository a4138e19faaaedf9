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
    read-back differs); the block is marked bad and the write is retried.
    ``bad`` False: the range to program did not read erased (a bit flipped in
    erased flash), nothing was programmed, the block is not bad (the head is
    sealed, the write retried elsewhere). Errors of another format:
    ``block_backend.formats``."""

    def __init__(self, block, bad=True):
        super().__init__("bad block %d" % block if bad else "block %d: erased space not erased" % block)
        self.block = block
        self.bad = bad
