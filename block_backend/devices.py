"""NOR flash block devices speaking MicroPython's block device protocol.

One implementation of the flash rules (``NorFlash``) over a tiny raw-access
interface; the devices differ only in where the bytes live:

- ``RamFlash`` (here): a ``bytearray``;
- ``PsramFlash`` (``block_backend.psramflash``): the QEMU board's PSRAM through
  ``uctypes.bytearray_at`` (firmware only);
- ``FileFlash`` (``block_backend.fileflash``): a host file (CPython, MicroPython unix).

Protocol (MicroPython's *extended* block device interface, what littlefs uses):

- ``readblocks(block_num, buf, offset=0)``: fill ``buf`` from byte ``offset`` of
  block ``block_num``;
- ``writeblocks(block_num, buf, offset=0)``: *program* ``buf`` there (never an
  implicit erase, even when called with two arguments: the simple interface that
  erases on write, which VfsFat needs, is not offered);
- ``ioctl(op, arg)``: 1 init, 2 deinit (syncs), 3 sync -> 0; 4 -> block count;
  5 -> block size; 6 erase block ``arg`` -> 0; any other op -> None.

Flash model (the assumptions Sprig's store is written against, docs/SPEC.md
"Block devices"):

- an erased byte reads 0xFF; erase works on a whole block only;
- a program may only clear bits (1 -> 0): the cells become ``old AND data``;
- programs are aligned: offset and length are multiples of ``prog_size``;
- programming already-programmed bytes again is allowed by the hardware model
  (it ANDs) but Sprig's store never relies on it; with ``strict=True`` (the
  default) a program that would need a bit to go 0 -> 1 raises ``FlashError``
  and leaves the cells unchanged. Re-programming identical data is accepted;
- reads may have any length and offset, and a read or program must lie inside
  one block (``offset + len(buf) <= block_size``); zero-length calls do nothing.

Errors: ``FlashError`` (a ``ValueError``) for misuse -- bad block number,
misaligned or out-of-block offset/length, a strict-mode 0 -> 1 program.
``FlashIOError`` (an ``OSError`` with ``errno`` EIO) for I/O faults: the failing
device, e.g. a bad block (``block_backend.faults``). MicroPython code around block
devices expects ``OSError`` for I/O errors, so catch ``OSError`` for those and let
``ValueError`` (a bug) propagate.

Counters (``counters=True``, the default): per block, the number of reads and
bytes read, programs and bytes programmed, erases; ``stats()`` gives the totals,
``block_stats(b)`` one block's, ``reset_stats()`` zeroes them. With
``counters=False`` nothing is counted and those three raise ``FlashError``: the
device then costs what a board's native flash object costs, a few hundred bytes
whatever its size (the heap benchmarks use it). Raw access (``read_raw``,
``write_raw``, ``snapshot``, ``restore``, ``fill_erased``) ignores the rules and is
not counted. Memory: the counters take 5 list slots per block (20 bytes on a
32-bit board); erasing writes a shared 256-byte pattern, programming checks the
cells 32 bytes at a time, so no operation allocates more than 256 bytes.
"""

from portable_core.compat import const

try:
    from errno import EIO
except ImportError:  # pragma: no cover - both runtimes have errno
    EIO = 5

ERASED = const(0xFF)
CHUNK = const(256)  # bytes erased (and compared when programming) per raw access
_ERASED_CHUNK = b"\xff" * 256

IOCTL_INIT = const(1)
IOCTL_DEINIT = const(2)
IOCTL_SYNC = const(3)
IOCTL_BLOCK_COUNT = const(4)
IOCTL_BLOCK_SIZE = const(5)
IOCTL_BLOCK_ERASE = const(6)


class FlashError(ValueError):
    """A block device was misused: bad block number, alignment, bounds, 0 -> 1 program."""


class FlashIOError(OSError):
    """The device failed an I/O operation (errno EIO): a bad block, a worn-out block."""

    def __init__(self, message="I/O error"):
        super().__init__(EIO, message)


class NorFlash:
    """NOR flash rules and MicroPython's block device protocol over raw storage.

    A subclass provides ``_raw_readinto(addr, buf)`` (fill ``buf`` from byte
    address ``addr``) and ``_raw_write(addr, data)`` (store ``data`` there, no
    rules applied), and calls ``_setup`` from its constructor.
    """

    def _setup(self, block_size, block_count, prog_size, strict, counters=True):
        if block_size <= 0 or block_count <= 0 or prog_size <= 0:
            raise FlashError("block_size, block_count and prog_size must be > 0")
        if block_size % prog_size:
            raise FlashError(
                "block_size %d is not a multiple of prog_size %d" % (block_size, prog_size)
            )
        self.block_size = block_size
        self.block_count = block_count
        self.prog_size = prog_size
        self.strict = strict
        self.size = block_size * block_count
        self.counters = counters
        if counters:
            self.reset_stats()

    # -- MicroPython block device protocol ------------------------------------

    def readblocks(self, block_num, buf, offset=0):
        """Read ``len(buf)`` bytes from byte ``offset`` of block ``block_num`` into ``buf``."""
        n = len(buf)
        addr = self._check(block_num, offset, n, 1)
        if n:
            self._raw_readinto(addr, buf)
            if self.counters:
                self._reads[block_num] += 1
                self._read_bytes[block_num] += n

    def writeblocks(self, block_num, buf, offset=0):
        """Program ``buf`` at byte ``offset`` of block ``block_num`` (NOR: AND into the cells)."""
        n = len(buf)
        addr = self._check(block_num, offset, n, self.prog_size)
        if n:
            self._program(addr, buf)
            if self.counters:
                self._progs[block_num] += 1
                self._prog_bytes[block_num] += n

    def ioctl(self, op, arg):
        """MicroPython block device control: see the module docstring."""
        if op == IOCTL_BLOCK_ERASE:
            self.erase(arg)
            return 0
        if op == IOCTL_BLOCK_COUNT:
            return self.block_count
        if op == IOCTL_BLOCK_SIZE:
            return self.block_size
        if op == IOCTL_SYNC or op == IOCTL_DEINIT:
            self.sync()
            return 0
        if op == IOCTL_INIT:
            return 0
        return None

    # -- the same operations by name ------------------------------------------

    def erase(self, block_num):
        """Set every byte of block ``block_num`` to 0xFF."""
        addr = self._check(block_num, 0, 0, 1)
        self._write_erased(addr, self.block_size)
        if self.counters:
            self._erases[block_num] += 1

    def erase_all(self):
        """Erase every block (counted as one erase per block)."""
        for block in range(self.block_count):
            self.erase(block)

    def fill_erased(self):
        """Set the whole device to 0xFF without counting erases (a factory-fresh chip)."""
        self._write_erased(0, self.size)

    def _write_erased(self, addr, n):
        """Set ``n`` cells from ``addr`` to 0xFF (raw, ``CHUNK`` bytes at a time)."""
        end = addr + n
        while addr < end:
            k = min(CHUNK, end - addr)
            self._raw_write(addr, _ERASED_CHUNK if k == CHUNK else _ERASED_CHUNK[:k])
            addr += k

    def sync(self):
        """Make every program and erase durable (nothing to do for RAM)."""

    # -- raw access for tests and fault injection (no rules, not counted) -------

    def read_raw(self, addr, n):
        """Return ``n`` bytes from byte address ``addr`` of the whole device."""
        self._check_span(addr, n)
        buf = bytearray(n)
        self._raw_readinto(addr, buf)
        return buf

    def write_raw(self, addr, data):
        """Overwrite the cells at ``addr`` with ``data``, ignoring NOR rules."""
        self._check_span(addr, len(data))
        self._raw_write(addr, data)

    def snapshot(self):
        """Return a copy of the whole contents (a ``bytearray``, ``size`` long: one
        allocation, no second copy)."""
        return self.read_raw(0, self.size)

    def restore(self, image):
        """Replace the whole contents with ``image`` (from ``snapshot``)."""
        if len(image) != self.size:
            raise FlashError("image is %d bytes, device holds %d" % (len(image), self.size))
        self._raw_write(0, image)

    # -- counters -------------------------------------------------------------

    def _counting(self):
        if not self.counters:
            raise FlashError("this device was made with counters=False")

    def reset_stats(self):
        """Zero every counter."""
        self._counting()
        count = self.block_count
        self._reads = [0] * count
        self._read_bytes = [0] * count
        self._progs = [0] * count
        self._prog_bytes = [0] * count
        self._erases = [0] * count

    def stats(self):
        """Return the totals: reads, read_bytes, programs, prog_bytes, erases, max_erases."""
        self._counting()
        return {
            "reads": sum(self._reads),
            "read_bytes": sum(self._read_bytes),
            "programs": sum(self._progs),
            "prog_bytes": sum(self._prog_bytes),
            "erases": sum(self._erases),
            "max_erases": max(self._erases),
        }

    def block_stats(self, block_num):
        """Return block ``block_num``'s counters (the keys of ``stats`` but max_erases)."""
        self._counting()
        self._check(block_num, 0, 0, 1)
        b = block_num
        return {
            "reads": self._reads[b],
            "read_bytes": self._read_bytes[b],
            "programs": self._progs[b],
            "prog_bytes": self._prog_bytes[b],
            "erases": self._erases[b],
        }

    # -- rules ----------------------------------------------------------------

    def _check(self, block_num, offset, n, align):
        """Validate an access; return its byte address. ``align`` is 1 or prog_size."""
        if not isinstance(block_num, int) or not 0 <= block_num < self.block_count:
            raise FlashError(
                "block %r out of range 0..%d" % (block_num, self.block_count - 1)
            )
        if offset < 0 or offset + n > self.block_size:
            raise FlashError(
                "offset %d + length %d outside block of %d bytes" % (offset, n, self.block_size)
            )
        if offset % align or n % align:
            raise FlashError(
                "program at offset %d length %d not aligned to prog_size %d"
                % (offset, n, align)
            )
        return block_num * self.block_size + offset

    def _check_span(self, addr, n):
        if addr < 0 or n < 0 or addr + n > self.size:
            raise FlashError("bytes %d..%d outside device of %d" % (addr, addr + n, self.size))

    def _program(self, addr, data):
        """AND ``data`` into the cells at ``addr`` (strict: refuse any 0 -> 1). Strict
        mode checks every cell before changing any; RAM stays at 32-byte pieces."""
        n = len(data)
        mv = memoryview(data)
        old = bytearray(32)
        clean = True
        for c in range(0, n, 32):
            e = min(n, c + 32)
            o = memoryview(old)[:e - c]
            self._raw_readinto(addr + c, o)
            want = int.from_bytes(mv[c:e], "big")
            if int.from_bytes(o, "big") & want != want:
                if self.strict:
                    i = 0
                    while o[i] & mv[c + i] == mv[c + i]:
                        i += 1
                    raise FlashError(
                        "program would set bits 0 -> 1 at byte %d (cell 0x%02x, data 0x%02x)"
                        % (addr + c + i, o[i], mv[c + i])
                    )
                clean = False
        if clean:
            self._raw_write(addr, data)
            return
        for c in range(0, n, 32):  # not strict: cells become old AND data
            e = min(n, c + 32)
            o = memoryview(old)[:e - c]
            self._raw_readinto(addr + c, o)
            new = int.from_bytes(o, "big") & int.from_bytes(mv[c:e], "big")
            self._raw_write(addr + c, new.to_bytes(e - c, "big"))


class BufferFlash(NorFlash):
    """A ``NorFlash`` over a writable buffer (``bytearray`` or ``uctypes`` byte array)."""

    def _attach(self, buf):
        if len(buf) != self.size:
            raise FlashError("buffer of %d bytes, geometry needs %d" % (len(buf), self.size))
        self._buf = buf
        self._mv = memoryview(buf)

    def _raw_readinto(self, addr, buf):
        memoryview(buf)[:] = self._mv[addr : addr + len(buf)]

    def _raw_write(self, addr, data):
        self._mv[addr : addr + len(data)] = data


class RamFlash(BufferFlash):
    """NOR flash in RAM: ``block_count`` blocks of ``block_size`` bytes, erased (0xFF).

    ``image`` (optional, ``size`` bytes) gives the initial contents instead, e.g. a
    ``snapshot()`` taken after a power cut, to reopen a store on it.
    """

    def __init__(self, block_size=4096, block_count=64, prog_size=16, strict=True, image=None,
                 counters=True):
        self._setup(block_size, block_count, prog_size, strict, counters)
        self._attach(bytearray(self.size))
        if image is None:
            self.fill_erased()
        else:
            self.restore(image)
