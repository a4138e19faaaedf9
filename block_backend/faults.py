"""Fault injection for NOR block devices: power cuts (torn), bad blocks, wear, bit flips.

``FaultyFlash(device, ...)`` wraps any ``devices.NorFlash`` (RamFlash, FileFlash,
PsramFlash) and speaks the same block device protocol.

Power cuts. Every program (``writeblocks`` with at least one byte) and every erase
(``ioctl(6)``/``erase``) is an *op*, numbered from 1 in ``ops``; misuse errors and
zero-length programs are not ops. With ``cut_at=N`` op N is interrupted: only a
part of it lands, chosen by ``torn`` in ``prog_size`` units --

- ``None``: all of it lands (power died right after it);
- ``k`` (int >= 0): a program's first ``k`` units land; for an erase the first
  ``k`` units of the block become 0xFF and the rest keeps its old contents
  (``k = 0``: nothing happens); ``k`` is capped at the op's length;
- ``TORN_RANDOM``: ``k`` drawn from ``0..units`` with the seeded PRNG.

Op N then raises ``PowerCut``, and so does every later operation (reads, programs,
erases, sync, init) until ``revive()`` turns the power back on (the contents stay
as the cut left them; ``ops`` keeps counting). ``landed`` holds the number of bytes
of op N that landed. ``PowerCut`` is not an ``OSError``: store code that handles
I/O errors must not mistake a power cut for one. The wrapped device's counters see
what landed: a torn program as a shorter program, a torn erase not at all.

A test driver counts the ops of a workload with ``record=True`` (``log`` lists
``(kind, block, offset, nbytes)``, kind ``"p"`` or ``"e"``), then replays it on
fresh devices with ``cut_at`` each of 1..len(log) and ``torn`` each of
``tear_variants(nbytes // prog_size)``, reopening the store after ``revive()`` (or
on ``RamFlash(image=device.snapshot())``).

Bad blocks and wear. Blocks in ``bad_blocks``, and blocks erased more than
``erase_limit`` times (the erase numbered ``erase_limit + 1`` finds the block
worn), behave by ``bad_mode``, a sum of flags modelled on littlefs's emulated
block device: ``BAD_PROG_ERROR`` (programs raise), ``BAD_ERASE_ERROR`` (erases
raise), ``BAD_READ_ERROR`` (reads raise), ``BAD_PROG_NOOP`` (programs silently do
nothing), ``BAD_ERASE_NOOP`` (erases and programs silently do nothing). Errors are
``devices.FlashIOError``, an ``OSError`` with errno EIO. Default: program and
erase errors.

Bit flips. ``flip_bit`` and ``flip_random`` change stored bits directly (data
retention errors); they work on a device or a ``FaultyFlash``.
"""

from portable_core.compat import const

from block_backend.devices import FlashIOError
from block_backend.prng import XorShift

BAD_PROG_ERROR = const(1)
BAD_ERASE_ERROR = const(2)
BAD_READ_ERROR = const(4)
BAD_PROG_NOOP = const(8)
BAD_ERASE_NOOP = const(16)

TORN_RANDOM = const(-1)


class PowerCut(Exception):
    """The emulated device lost power: the operation in progress and all later ones fail."""


def tear_variants(units):
    """Return the ``torn`` values worth testing for an op of ``units`` prog units.

    ``None`` (the op lands whole) first, then nothing, one unit, half, all but one.
    """
    out = [None]
    for k in (0, 1, units // 2, units - 1):
        if 0 <= k < units and k not in out:
            out.append(k)
    return out


class FaultyFlash:
    """A block device wrapper injecting power cuts, bad blocks, wear-out; see the module doc."""

    def __init__(
        self,
        device,
        cut_at=None,
        torn=None,
        seed=1,
        bad_blocks=(),
        bad_mode=BAD_PROG_ERROR | BAD_ERASE_ERROR,
        erase_limit=None,
        record=False,
    ):
        self.device = device
        self.block_size = device.block_size
        self.block_count = device.block_count
        self.prog_size = device.prog_size
        self.size = device.size
        self.ops = 0
        self.cut_at = cut_at
        self.torn = torn
        self.powered = True
        self.landed = None
        self.rng = XorShift(seed)
        self.bad_blocks = set(bad_blocks)
        self.bad_mode = bad_mode
        self.erase_limit = erase_limit
        self.wear = [0] * device.block_count
        self.log = [] if record else None

    # -- MicroPython block device protocol ------------------------------------

    def readblocks(self, block_num, buf, offset=0):
        """Read as the device does, unless the power is off or the block fails reads."""
        self._check_power()
        self.device._check(block_num, offset, len(buf), 1)
        if self.bad_mode & BAD_READ_ERROR and self.is_bad(block_num):
            raise FlashIOError("read error on bad block %d" % block_num)
        self.device.readblocks(block_num, buf, offset)

    def writeblocks(self, block_num, buf, offset=0):
        """Program as the device does: an op (power cut, bad block rules apply)."""
        self._check_power()
        n = len(buf)
        self.device._check(block_num, offset, n, self.prog_size)
        if not n:
            return
        if self._begin_op("p", block_num, offset, n):
            landed = self._tear(n)
            if landed:
                self.device.writeblocks(block_num, memoryview(buf)[:landed], offset)
            raise PowerCut("power cut during op %d (program)" % self.ops)
        if self.is_bad(block_num):
            if self.bad_mode & BAD_PROG_ERROR:
                raise FlashIOError("program error on bad block %d" % block_num)
            if self.bad_mode & (BAD_PROG_NOOP | BAD_ERASE_NOOP):
                return
        self.device.writeblocks(block_num, buf, offset)

    def ioctl(self, op, arg):
        """Block device control: geometry always answers; everything else needs power."""
        if op == 4 or op == 5:
            return self.device.ioctl(op, arg)
        self._check_power()
        if op == 6:
            self.erase(arg)
            return 0
        return self.device.ioctl(op, arg)

    # -- the same operations by name ------------------------------------------

    def erase(self, block_num):
        """Erase as the device does: an op (power cut, wear and bad block rules apply)."""
        self._check_power()
        self.device._check(block_num, 0, 0, 1)
        if self._begin_op("e", block_num, 0, self.block_size):
            landed = self._tear(self.block_size)
            if landed == self.block_size:
                self.device.erase(block_num)
            elif landed:
                addr = block_num * self.block_size
                self.device._write_erased(addr, landed)
            raise PowerCut("power cut during op %d (erase)" % self.ops)
        if self.erase_limit is not None and not self.is_bad(block_num):
            self.wear[block_num] += 1
        if self.is_bad(block_num):
            if self.bad_mode & BAD_ERASE_ERROR:
                raise FlashIOError("erase error on bad block %d" % block_num)
            if self.bad_mode & BAD_ERASE_NOOP:
                return
        self.device.erase(block_num)

    def erase_all(self):
        """Erase every block, one op each."""
        for block in range(self.block_count):
            self.erase(block)

    def sync(self):
        """Flush the device (needs power)."""
        self._check_power()
        self.device.sync()

    # -- power and faults -----------------------------------------------------

    def revive(self):
        """Turn the power back on after a cut; no further cut is scheduled."""
        self.powered = True
        self.cut_at = None

    def is_bad(self, block_num):
        """Return True when block ``block_num`` is marked bad or worn out."""
        if block_num in self.bad_blocks:
            return True
        limit = self.erase_limit
        return limit is not None and self.wear[block_num] > limit

    def mark_bad(self, block_num):
        """Make block ``block_num`` bad from now on."""
        self.bad_blocks.add(block_num)

    def _check_power(self):
        if not self.powered:
            raise PowerCut("device has no power (cut at op %s)" % self.cut_at)

    def _begin_op(self, kind, block_num, offset, n):
        """Count an op; return True when it is the one the power cut interrupts."""
        self.ops += 1
        if self.log is not None:
            self.log.append((kind, block_num, offset, n))
        if self.cut_at is not None and self.ops == self.cut_at:
            self.powered = False
            return True
        return False

    def _tear(self, n):
        """Return how many of the op's ``n`` bytes land, per ``torn``."""
        units = n // self.prog_size
        torn = self.torn
        if torn is None:
            k = units
        elif torn == TORN_RANDOM:
            k = self.rng.below(units + 1)
        else:
            k = min(torn, units)
        self.landed = k * self.prog_size
        return self.landed

    # -- passed through to the device -----------------------------------------

    def stats(self):
        """The wrapped device's totals (``NorFlash.stats``)."""
        return self.device.stats()

    def block_stats(self, block_num):
        """The wrapped device's counters for one block."""
        return self.device.block_stats(block_num)

    def reset_stats(self):
        """Zero the wrapped device's counters (``ops`` and wear are kept)."""
        self.device.reset_stats()

    def snapshot(self):
        """The wrapped device's contents (works with the power off)."""
        return self.device.snapshot()

    def restore(self, image):
        """Replace the wrapped device's contents."""
        self.device.restore(image)

    def read_raw(self, addr, n):
        """Raw bytes of the wrapped device (no rules, no power needed)."""
        return self.device.read_raw(addr, n)

    def write_raw(self, addr, data):
        """Overwrite raw bytes of the wrapped device."""
        self.device.write_raw(addr, data)


def flip_bit(device, block_num, offset, bit):
    """Invert bit ``bit`` (0 = least significant) of byte ``offset`` in block ``block_num``."""
    if not 0 <= bit < 8 or not 0 <= offset < device.block_size:
        raise ValueError("bit %r or offset %r out of range" % (bit, offset))
    addr = block_num * device.block_size + offset
    cell = device.read_raw(addr, 1)
    cell[0] ^= 1 << bit
    device.write_raw(addr, cell)


def flip_random(device, count=1, seed=1, blocks=None):
    """Flip ``count`` random bits (in ``blocks``, default all); return ``[(block, offset, bit)]``.

    ``seed`` is an int or an ``XorShift``. The same bit may be drawn twice (flipping back).
    """
    rng = seed if isinstance(seed, XorShift) else XorShift(seed)
    if blocks is None:
        blocks = list(range(device.block_count))
    flipped = []
    for _ in range(count):
        block = blocks[rng.below(len(blocks))]
        offset = rng.below(device.block_size)
        bit = rng.below(8)
        flip_bit(device, block, offset, bit)
        flipped.append((block, offset, bit))
    return flipped
