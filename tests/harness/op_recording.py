"""Exhaustive power-cut sweeps for host tests: record a workload's programs and
erases once, then rebuild the image a cut after any op (whole or torn) leaves.

``Recorder(block_size, block_count, prog_size)`` is a RamFlash that appends
``(kind, block, offset, data, phase)`` to ``ops`` for every program (``"p"``, with
the bytes) and erase (``"e"``, data None); ``phase`` is whatever the workload set
on the device before the op. ``apply_op(img, op, block_size, landed)`` replays one
op on a bytearray image: all of it, or only its first ``landed`` bytes (a torn
op). Rebuilding images this way gives the same bytes as a replay with
``block_backend.faults.FaultyFlash(cut_at=N, torn=k)`` (tests/host/test_flash_powerloss.py
checks that), in a fraction of the time.
"""

from block_backend.devices import RamFlash


class Recorder(RamFlash):
    """RamFlash that logs every program and erase with its data and the workload phase."""

    def __init__(self, block_size, block_count, prog_size):
        super().__init__(block_size, block_count, prog_size)
        self.ops = []
        self.phase = 0

    def writeblocks(self, block_num, buf, offset=0):
        """Program ``buf`` at ``offset`` of block ``block_num`` and log it."""
        if len(buf):
            self.ops.append(("p", block_num, offset, bytes(buf), self.phase))
        super().writeblocks(block_num, buf, offset)

    def erase(self, block_num):
        """Erase block ``block_num`` and log it."""
        self.ops.append(("e", block_num, 0, None, self.phase))
        super().erase(block_num)


def apply_op(img, op, block_size, landed=None):
    """Apply recorded ``op`` to image ``img`` (NOR: a program only clears bits);
    ``landed``: how many of its bytes landed (None: all)."""
    kind, block, offset, data, _ = op
    addr = block * block_size + offset
    if kind == "e":
        n = block_size if landed is None else landed
        img[addr:addr + n] = b"\xff" * n
    else:
        n = len(data) if landed is None else landed
        for i in range(n):
            img[addr + i] &= data[i]
