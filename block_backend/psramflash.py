"""``PsramFlash``: NOR flash over the QEMU mps2-an385 board's PSRAM (firmware only).

The board has 16 MiB of PSRAM at 0x21000000 that the firmware leaves unused;
``uctypes.bytearray_at`` makes a byte array over it and ``devices.BufferFlash``
applies the NOR rules to it. QEMU can fill it from a file at boot (``-device
loader,file=IMG,addr=0x21000000,force-raw=on``) and save it with the monitor's
``pmemsave``, so an image survives an emulated power cut or reboot; therefore the
constructor leaves the contents alone (``erase=True`` wipes them to 0xFF, uncounted:
QEMU starts PSRAM zeroed, which is not an erased chip).

Anywhere else (CPython, the unix port, another board) constructing one raises
``OSError`` with errno ENODEV: the address would not be PSRAM there.
"""

import sys

from block_backend.devices import BufferFlash, FlashError

PSRAM_BASE = 0x21000000
PSRAM_SIZE = 0x1000000
BOARD = "mps2-an385"

try:
    from errno import ENODEV
except ImportError:  # pragma: no cover - both runtimes have errno
    ENODEV = 19


def psram_available():
    """Return True when running on the QEMU mps2-an385 firmware, which has the PSRAM."""
    impl = sys.implementation
    return impl.name == "micropython" and BOARD in getattr(impl, "_machine", "")


class PsramFlash(BufferFlash):
    """NOR flash of ``block_count`` blocks at ``base`` in the board's PSRAM."""

    def __init__(
        self,
        base=PSRAM_BASE,
        block_size=4096,
        block_count=64,
        prog_size=16,
        strict=True,
        erase=False,
        counters=True,
    ):
        if not psram_available():
            raise OSError(ENODEV, "PsramFlash needs the QEMU %s firmware (no PSRAM here)" % BOARD)
        self._setup(block_size, block_count, prog_size, strict, counters)
        if base < PSRAM_BASE or base + self.size > PSRAM_BASE + PSRAM_SIZE:
            raise FlashError(
                "0x%x..0x%x is outside PSRAM 0x%x..0x%x"
                % (base, base + self.size, PSRAM_BASE, PSRAM_BASE + PSRAM_SIZE)
            )
        import uctypes

        self.base = base
        self._attach(uctypes.bytearray_at(base, self.size))
        if erase:
            self.fill_erased()
