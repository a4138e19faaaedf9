"""``FileFlash``: NOR flash kept in a host file (CPython and the MicroPython unix port).

``counters`` as for ``devices.NorFlash``. The file holds the raw image, block 0 first, ``block_size * block_count`` bytes.
An absent file is created erased (all 0xFF); an existing one must have exactly
that size (else ``FlashError``), so a store can be reopened across runs. The rules
are ``devices.NorFlash``'s; only ``open``, ``seek``, ``readinto``, ``write``,
``flush`` and ``os.stat`` are used, which both runtimes have. Where there is no
filesystem (the QEMU firmware) opening fails with the runtime's ``OSError``.

``sync()`` (``ioctl(3)``, also ``ioctl(2)`` deinit) flushes Python's buffer to
the OS; ``close()`` releases the file.
"""

import os

from block_backend.devices import FlashError, NorFlash


def _file_size(path):
    """Return the size of ``path``, or None when it does not exist."""
    try:
        return os.stat(path)[6]
    except OSError:
        return None


class FileFlash(NorFlash):
    """NOR flash in the file ``path`` with the given geometry (see the module doc)."""

    def __init__(self, path, block_size=4096, block_count=64, prog_size=16, strict=True,
                 counters=True):
        self._setup(block_size, block_count, prog_size, strict, counters)
        self.path = path
        self._file = None
        size = _file_size(path)
        if size is None:
            f = open(path, "wb")
            f.close()
            self._file = open(path, "r+b")
            self.fill_erased()
            self._file.close()
            self._file = None
        elif size != self.size:
            raise FlashError(
                "%s holds %d bytes; %d blocks of %d bytes need %d"
                % (path, size, block_count, block_size, self.size)
            )
        self._file = open(path, "r+b")

    def _raw_readinto(self, addr, buf):
        f = self._opened()
        f.seek(addr)
        n = f.readinto(buf)
        if n != len(buf):
            raise FlashError("%s: short read at %d (%r of %d bytes)" % (self.path, addr, n, len(buf)))

    def _raw_write(self, addr, data):
        f = self._opened()
        f.seek(addr)
        f.write(data)

    def _opened(self):
        if self._file is None:
            raise FlashError("%s is closed" % self.path)
        return self._file

    def sync(self):
        """Flush buffered writes to the file."""
        self._opened().flush()

    def close(self):
        """Flush and close the file; the device is unusable afterwards."""
        if self._file is not None:
            self._file.flush()
            self._file.close()
            self._file = None
