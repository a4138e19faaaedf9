"""FlashStore: Sprig's object and ref stores on a NOR block device (docs/SPEC.md
"Flash layout", docs/DESIGN.md "Block store").

The store is a log of CRC-protected records in blocks ordered by a sequence
number. The work is split by job:

- ``records``: record encoding, CRCs, scanning a block image;
- ``layout``: block headers, footer, summary encoding;
- ``log`` (``Log``): mount/recovery, allocation, programming batches, ref records;
- ``index`` (``Index``): lookups (pending batch, cache, head index, summaries), add;
- ``compaction``, ``fsck``: functions of a store, imported when first used
  (a device that never compacts or checks does not pay their RAM);
- here: the ``FlashStore`` facade and the ObjectStore / RefStore adapters.
"""

import struct
from array import array

from block_backend.errors import BadBlock, DeviceFull, NotFormatted  # noqa: F401 (public names)
from block_backend.index import FILTER_RAM, Index, MAX_DEPTH
from block_backend.layout import header_size
from block_backend.log import Log
from block_backend.records import align
from portable_core.storage import ObjectStore, RefStore, StorageError


PROG_SIZE = 16  # program unit when neither the device nor the caller gives one


class FlashObjects(ObjectStore):
    """The ObjectStore of a FlashStore."""

    def __init__(self, fs):
        self.fs = fs

    def add(self, raw, base=None, base_raw=None):
        """Store ``raw``; return its id (``base``, ``base_raw``: see ObjectStore.add)."""
        return self.fs.add_object(raw, base, base_raw)

    def add_pieces(self, pieces):
        """Store the object made of ``pieces`` and return its id (see
        ObjectStore.add_pieces: one bigger than a record goes in chunks)."""
        from block_backend import chunks

        return chunks.add_pieces(self.fs, pieces)

    def get(self, oid):
        """Return the raw bytes of ``oid`` (None: absent; StorageError: damaged); a
        chunked object as one new bytearray filled from its chunks (the core cuts
        a large value out of it in place)."""
        return self.fs.get_object(oid)

    def read_into(self, oid, buf, skip):
        """Copy the raw bytes of ``oid`` from ``skip`` on into ``buf``; return
        ``(first skip bytes, size)``, None when absent (optional method: see
        portable_core/storage.py; a chunked object streams from its chunks)."""
        from block_backend import chunks

        return chunks.read_into(self.fs, oid, buf, skip)

    def mem(self, oid):
        """Return True when ``oid`` is stored."""
        return self.fs.has_object(oid)

    def iterate(self):
        """Yield every stored object id once."""
        return self.fs.iterate_objects()


class FlashRefs(RefStore):
    """The RefStore of a FlashStore: every update is a durable commit point."""

    def __init__(self, fs):
        self.fs = fs

    def _refs(self):
        fs = self.fs
        if fs.refs_damaged:
            raise StorageError("a ref update record is damaged: run fsck")
        return fs._refs

    def get(self, name):
        """Return the id ``name`` points to, or None."""
        return self._refs().get(name)

    def set(self, name, oid):
        """Point ``name`` at ``oid``."""
        self._refs()
        self.fs.update_ref(name, bytes(oid))

    def test_and_set(self, name, expected, new):
        """Compare-and-swap ``name`` from ``expected`` to ``new`` (None: absent)."""
        cur = self._refs().get(name)
        if cur != (None if expected is None else bytes(expected)):
            return False
        if new is None and cur is None:
            return True
        self.fs.update_ref(name, None if new is None else bytes(new))
        return True

    def remove(self, name):
        """Remove ``name`` if present."""
        if name in self._refs():
            self.fs.update_ref(name, None)

    def list(self):
        """Return the sorted ref names."""
        return sorted(self._refs())


class FlashStore(Log, Index):
    """Sprig's stores on a NOR block device. Use ``FlashStore.format`` / ``open``.

    ``keep``: history retained by compaction, the last ``keep`` commits of each
    ref (None: all). ``filter_ram``: most bytes of RAM for the miss filters (one
    per block, ``block_size // 128`` bytes each); when they do not all fit, there
    are none and lookups read the blocks' summaries. ``prog_size``: the program
    unit, default the device's ``prog_size`` attribute, else ``PROG_SIZE`` (16;
    MicroPython's native flash objects have no such attribute) at format, the
    image's own at open. The geometry must be within the format's limits
    (``formats.GeometryError``); an image opens only on the geometry it was
    formatted for (``formats.FormatMismatch``). ``retention``: what compaction
    and fsck keep and follow (``portable_core.retention``, or an object with its
    ``links`` and ``kept_commits``; the block layer knows no object format);
    without one, ``compact`` and ``fsck`` raise StorageError, and so does a write
    that needs a compaction. Attributes: ``objects`` (ObjectStore), ``refs``
    (RefStore), ``damage`` (list of strings found at mount), ``corrected``
    (records read after correcting a flipped bit in an erased-looking tail, or
    bits flipped in padding), ``compactions``.
    """

    def __init__(self, device, keep=None, filter_ram=FILTER_RAM, prog_size=None, retention=None):
        self.dev = device
        self.retention = retention
        self.B = device.ioctl(5, 0)
        self.N = device.ioctl(4, 0)
        if prog_size is None:
            prog_size = getattr(device, "prog_size", PROG_SIZE)
        p = self.P = prog_size
        b = self.B
        n = self.N
        if p < 1 or p > 256 or p & (p - 1) or b % p or b < 16 * p or b < 512 or b > 65536 or n < 6 or n > 65535:
            from block_backend.formats import check_geometry  # outside the format's limits

            check_geometry(b, n, p)
        from block_backend.layout import FMT_LEN, FORMAT_VERSION  # (no module globals: heap)

        self.fmt = (FORMAT_VERSION, p, b, n)  # what format headers must say
        self.H = header_size(p)
        self.alloc_at = align(FMT_LEN, p)  # the format header is [0, alloc_at)
        self.data_start = self.alloc_at + self.H
        self.foot = b - self.H
        self.keep = keep
        # longest delta chain this store writes (reads accept up to index.MAX_DEPTH)
        self.max_chain = MAX_DEPTH
        self._keep_arg = keep
        self.objects = FlashObjects(self)
        self.refs = FlashRefs(self)
        self._refs = {}
        self.refs_damaged = False
        self.damage = []
        self.corrected = []  # records a mount read after correcting a bit of an erased-looking tail
        self.lost = False
        self.unplaced = []  # blocks with records whose seq is unknown (damaged alloc header)
        self.compactions = 0
        self.compaction_lost = 0  # objects a compaction could not read (fsck repair)
        self._compacting = False
        self._pending = []  # (oid, raw, base id or None, base raw or None)
        self._pending_bytes = 0
        self._cache = []  # (id, block << 16 | offset of its verified record), index.py
        self._mat_base = None
        self._scan_buf = None  # index._SCAN bytes, made on the first summary read
        self._absent = None  # the id has_object last found absent (index.py)
        self._mat_info = None  # (depth, root block, root offset) of the last object read
        self._orphans = None  # (seq, offset) of the first flushed, uncommitted object
        n = self.N
        # block state (docs/DESIGN.md "Block store", RAM): one byte a block, plus
        # 6 bytes a block of the log; erase counts stay on flash (erase headers)
        self.state = bytearray(n)  # S_BAD | S_LOG bits (log.py)
        self.order = array("H")  # the log's blocks by seq: order[:nlog]
        self.oseq = array("I")  # their seqs
        self.nlog = 0
        # miss filter: FB bytes per block when all blocks' filters fit filter_ram
        fb = self.B // 128
        self.FB = fb if fb >= 4 and n * fb <= filter_ram else 0
        self.filt = bytearray(n * self.FB)
        self.filt_ok = bytearray(n if self.FB else 0)  # 1: b's filter holds all its objects
        self._bad_new = []  # marked bad, not yet recorded on flash
        self.next_seq = 1
        self.live_blocks = 1
        self._reset_head(None)

    @classmethod
    def format(cls, device, keep=None, filter_ram=FILTER_RAM, prog_size=None, retention=None):
        """Erase ``device`` (keeping erase counts) and return an empty mounted store."""
        from block_backend.records import T_SNAP_BEGIN, T_SNAP_END, encode_record

        fs = cls(device, keep, filter_ram, prog_size, retention)
        # A block without a readable erase count (a new chip) is taken to be as
        # worn as the most worn known block: 0 on a new chip, so every block
        # starts equal (erasing one by one must not make later ones look older).
        base = fs._max_erase_count()
        for b in range(fs.N):
            c = fs._erase_count(b)
            try:
                fs._erase(b, base if c is None else c)
            except BadBlock:
                pass
        fs._alloc_head()
        fs._program_batch(fs._bad_records() + [(None, encode_record(T_SNAP_BEGIN, b"")),
                           (None, encode_record(T_SNAP_END, struct.pack("<HHH", 0, 1, keep or 0)))])
        fs._bad_new = []
        device.ioctl(3, 0)
        return fs

    @classmethod
    def open(cls, device, keep=None, filter_ram=FILTER_RAM, prog_size=None, retention=None):
        """Mount the log on ``device``: find the last complete commit. The image must
        be of this format version and of the device's geometry
        (``formats.FormatMismatch`` names the difference); without a program
        unit from the caller or the device, the image's is used."""
        fs = cls(device, keep, filter_ram, prog_size, retention)
        if prog_size is None and getattr(device, "prog_size", None) is None:
            from block_backend.layout import FMT_LEN, FORMAT_VERSION, parse_format_header

            buf = bytearray(FMT_LEN)
            for b in range(fs.N):  # the first valid version 2 format header's unit
                device.readblocks(b, buf, 0)
                fmt = parse_format_header(buf)
                if fmt is not None and fmt[1] == FORMAT_VERSION:
                    if fmt[2] != fs.P:
                        fs = cls(device, keep, filter_ram, fmt[2], retention)
                    break
        fs._mount()
        return fs

    mount = open

    def compact(self, keep=-1, through=False):
        """Copy what the refs reach (history per ``keep``) and the pending objects'
        references into fresh blocks, then erase the old blocks oldest first
        (``block_backend.compaction``). ``keep`` (-1: the store's) other than the
        store's becomes the store's; ``through``: internal (``room.make_room``)."""
        from block_backend.compaction import compact

        return compact(self, keep, through)

    def fsck(self, repair=False):
        """Check every record's CRC, every object's id, every ref's reachability;
        ``repair``: compact a damaged store (``block_backend.fsck``)."""
        from block_backend.fsck import fsck

        return fsck(self, repair)
