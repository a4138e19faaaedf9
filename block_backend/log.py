"""The log: blocks ordered by sequence number, mounting (recovery scan), appending
batches of records, sealing blocks with a summary and footer.

``Log`` is a mixin of ``FlashStore``; it owns the block state (``state``: a byte
per block; ``order``/``oseq``: the log's blocks and their seqs, in seq order; all
allocated by ``FlashStore``), the head block's position and RAM index, and the
refs replayed at mount. Erase counts are not kept
in RAM: they are read from the erase headers when a block is allocated or erased.
"""

import hashlib
import struct

from array import array

from block_backend.errors import BadBlock, DeviceFull, NoSpace, NotFormatted
from block_backend.layout import (FMT_LEN, MAGIC_ALLOC, MAGIC_ERASE, MAGIC_FOOT, encode_header,
                                  parse_format_header, parse_header,
                                  summary_payload, summary_size)
from block_backend.records import align, all_ff, encode_record, header_ok, rec_ok, scan_records
from portable_core.compat import const
from portable_core.storage import StorageError

# Record types and scan statuses of records.py, as this module's own ``const``
# (a module global costs heap on MicroPython, a const none; test_flashstore_format
# checks they equal records.py's).
_T_OBJ = const(1)
_T_REF = const(2)
_T_SNAP_BEGIN = const(3)
_T_SNAP_END = const(4)
_T_SUM = const(5)
_T_DELTA = const(6)
_T_BAD = const(7)
_T_SEQ = const(8)
_T_CHUNK = const(9)
_T_MANIFEST = const(10)
_OK = const(0)
_TORN = const(1)
_DAMAGED = const(2)
_STAGE = const(256)  # a batch is programmed in pieces of at least this many bytes
_PAYLOAD = const(4)  # a record's payload offset (records.py: type, len u16, hcrc)
_OVERHEAD = const(8)  # a record's bytes besides its payload (header, crc32)
S_BAD = 1  # state bits of a block: a program or erase failed there
_S_LOG = const(2)  # in the log (its seq is in ``oseq``)


class Log:
    """Mixin: block allocation, mount, batch programming, ref records."""

    def _read(self, b, off, n):
        """Return ``n`` bytes read from byte ``off`` of block ``b``."""
        buf = bytearray(n)
        self.dev.readblocks(b, buf, off)
        return buf

    def _read_headers(self, b):
        """Read block ``b``'s format and alloc headers, set its seq; return
        ``(headers, parsed format header or None, seq or None)``."""
        hdr = self._read(b, 0, self.data_start)
        fmt = parse_format_header(hdr)
        sq = parse_header(memoryview(hdr)[self.alloc_at:], MAGIC_ALLOC)
        self._set_seq(b, sq or 0)
        return hdr, fmt, sq

    def _erase_count(self, b):
        """Return block ``b``'s erase count from its format header (a version 1
        erase header counts too), None if unreadable."""
        fmt = parse_format_header(self._read(b, 0, FMT_LEN))
        return None if fmt is None else fmt[0]

    def _erased(self, b, start, end):
        """Return True when bytes ``[start, end)`` of block ``b`` read erased (0xFF);
        read 64 bytes at a time."""
        buf = bytearray(min(64, max(0, end - start)))
        while start < end:
            m = min(64, end - start)
            mv = memoryview(buf)[:m]
            self.dev.readblocks(b, mv, start)
            if not all_ff(mv, 0, m):
                return False
            start += m
        return True

    def erase_counts(self):
        """Return every block's erase count, read from its erase header (None:
        unreadable, e.g. a new chip or an interrupted erase)."""
        return [self._erase_count(b) for b in range(self.N)]

    def _in_log(self, b):
        """Return True when block ``b`` is in the log (it has a seq)."""
        return bool(self.state[b] & _S_LOG)

    def _log_index(self, b):
        """Return the position of block ``b`` in ``order``, or -1 (not in the log)."""
        if not self.state[b] & _S_LOG:
            return -1
        order = self.order
        for i in range(self.nlog):
            if order[i] == b:
                return i
        return -1

    def seq_of(self, b):
        """Return block ``b``'s seq, 0 when it is not in the log."""
        i = self._log_index(b)
        return 0 if i < 0 else self.oseq[i]

    def _set_seq(self, b, sq):
        """Set block ``b``'s seq (0: take it out of the log); ``order``/``oseq`` stay
        sorted by seq (they grow to the longest log seen, never shrink)."""
        order = self.order
        oseq = self.oseq
        n = self.nlog
        i = self._log_index(b)
        if i >= 0:
            n -= 1
            while i < n:
                order[i] = order[i + 1]
                oseq[i] = oseq[i + 1]
                i += 1
            self.state[b] &= ~_S_LOG
        if sq:
            if n == len(order):
                order.append(0)
                oseq.append(0)
            lo = 0
            hi = n
            while lo < hi:
                mid = (lo + hi) // 2
                if oseq[mid] <= sq:
                    lo = mid + 1
                else:
                    hi = mid
            i = n
            while i > lo:
                order[i] = order[i - 1]
                oseq[i] = oseq[i - 1]
                i -= 1
            order[lo] = b
            oseq[lo] = sq
            n += 1
            self.state[b] |= _S_LOG
        self.nlog = n

    def _max_erase_count(self):
        """Return the highest readable erase count (0 when none is readable)."""
        top = 0
        for b in range(self.N):
            c = self._erase_count(b)
            if c is not None and c > top:
                top = c
        return top

    def _seq_record(self, buf):
        """Return the seq of the valid _T_SEQ record at the start of block image
        ``buf`` (the alloc header's redundant copy), or None."""
        pos = self.data_start
        n = header_ok(buf, pos, self.foot)
        if n != 4 or buf[pos] != _T_SEQ or not rec_ok(buf, pos, n):
            return None
        return struct.unpack("<I", bytes(buf[pos + _PAYLOAD:pos + _PAYLOAD + 4]))[0]

    def _mount(self):
        """Read every block's headers, replay the refs in log order, find the head.
        A block whose alloc header is damaged (neither valid nor erased) but that
        holds records rejoins the log when its _T_SEQ record gives its seq and no
        other block has it; otherwise it is lost (reported, see ``_unplaced``)."""
        hurt = []
        formatted = False
        other = None  # the first free block's format header of another format
        for b in range(self.N):
            hdr, fmt, sq = self._read_headers(b)
            if fmt is not None:
                if fmt[1:] == self.fmt:
                    formatted = True
                elif sq is not None:  # a log block of another format or geometry
                    from block_backend.formats import mismatch

                    raise mismatch(fmt, *self.fmt)
                elif other is None:
                    other = fmt  # a free block is erased before use: only if none matches
            if sq is None and not all_ff(hdr, self.alloc_at, self.data_start):
                hurt.append(b)
        for b in hurt:
            buf = self._read(b, 0, self.B)
            if all_ff(buf, self.data_start, self.B):
                continue  # a free block: erased before reuse (fsck reports the header)
            sq = self._seq_record(buf)
            if sq and self._block_of_seq(sq) is None:
                self._set_seq(b, sq)
                self.damage.append("block %d: alloc header damaged, seq %d recovered from its seq record" % (b, sq))
                continue
            self._unplaced(b, buf)
            buf = None
        if not formatted and other is not None:
            from block_backend.formats import mismatch

            raise mismatch(other, *self.fmt)
        if not self.nlog:
            raise NotFormatted("no Sprig log on this device")
        if not formatted:
            from block_backend.formats import no_format_header

            raise no_format_header(self.fmt[0])
        order = self._log_order()
        self.next_seq = self.oseq[self.nlog - 1] + 1
        names = None
        last = -1  # index in ``order`` of the block holding the last commit point
        snap_from = 0  # first seq of the region the snapshot being read ends
        stale_below = 0  # blocks below the last complete snapshot's region: stale
        buf = bytearray(self.B)
        for i, b in enumerate(order):
            self.dev.readblocks(b, buf, 0)
            end = self._region_end(b, buf)
            need = False  # b's filter is built from its records (no valid summary)
            if self.FB:
                pre = self._summary_prefixes(buf, end)
                if pre is not None:
                    self._filt_add(b, pre)
                else:
                    pre = bytearray()
                    need = True
            fixed = []
            for pos, typ, n, st in scan_records(buf, self.data_start, end, self.P, fixed):
                if fixed:  # a scan corrected something
                    from block_backend.crcfix import note_fixed

                    note_fixed(self, b, fixed)
                if need and st == _OK and (typ == _T_OBJ or typ == _T_DELTA or typ == _T_MANIFEST):
                    if typ == _T_OBJ:
                        pre += hashlib.sha256(memoryview(buf)[pos + _PAYLOAD:pos + _PAYLOAD + n]).digest()[:4]
                    else:
                        pre += bytes(buf[pos + _PAYLOAD:pos + _PAYLOAD + 4])  # a delta's id prefix
                if st == _DAMAGED:
                    self.damage.append("block %d offset %d: damaged record" % (b, pos))
                    obj = typ == _T_OBJ or typ == _T_DELTA or typ == _T_MANIFEST or typ == _T_CHUNK
                    if not obj:
                        self.refs_damaged = True
                    if typ is None or obj:
                        self.lost = True
                    continue
                if st == _TORN:
                    continue
                p = pos + _PAYLOAD
                if typ != _T_OBJ and typ != _T_DELTA and not _record_fits(self, b, pos, typ, buf, n):
                    continue
                if typ == _T_REF:
                    ln = buf[p]
                    name = bytes(buf[p + 1:p + 1 + ln]).decode()
                    oid = bytes(buf[p + 1 + ln:p + n])
                    if oid:
                        self._refs[name] = oid
                    else:
                        self._refs.pop(name, None)
                    if names is not None:
                        names.append(name)
                    else:
                        last = i
                elif typ == _T_BAD:
                    self.state[buf[p] | (buf[p + 1] << 8)] |= S_BAD
                elif typ == _T_SNAP_BEGIN:
                    names = []
                    snap_from = struct.unpack("<I", bytes(buf[p:p + 4]))[0] if n == 4 else 0
                elif typ == _T_SNAP_END:
                    count, live, keep = struct.unpack("<HHH", bytes(buf[p:p + 6]))
                    if names is not None and len(names) == count:
                        for k in list(self._refs):
                            if k not in names:
                                del self._refs[k]
                        if not self.lost:
                            self.refs_damaged = False
                        self.live_blocks = live
                        if self._keep_arg is None:
                            self.keep = keep or None
                        last = i
                        stale_below = snap_from
                    names = None
            if need:
                self._filt_add(b, pre)
            pre = None
        # blocks wholly after the last commit point hold only uncommitted records
        # (an interrupted batch or compaction): erased when room is short
        # (``room.drop_tail``)
        if last >= 0 and not self.damage and last + 1 < len(order):
            self._uncommitted = order[last + 1:]
        order = None
        # a compaction cut while erasing the old log: what it did not erase is
        # stale (free, erased before reuse), not history to walk into
        while self.nlog > 1 and self.oseq[0] < stale_below:
            b = self.order[0]
            self._set_seq(b, 0)
            self._filt_clear(b)
        self._mount_head(self.order[self.nlog - 1], buf)

    def _unplaced(self, b, buf):
        """Block ``b`` holds records but its place in the log is unknown: its objects
        are not searched (misses raise), its ref records make the refs unreadable."""
        objs = 0
        refs = 0
        for pos, typ, n, st in scan_records(buf, self.data_start, self._region_end(b, buf), self.P):
            if st != _OK:
                continue
            if typ == _T_OBJ or typ == _T_DELTA or typ == _T_MANIFEST:
                objs += 1
            elif typ == _T_CHUNK:
                pass
            elif typ != _T_SUM and typ != _T_SEQ:
                refs += 1
        self.damage.append("block %d: alloc header damaged, seq unknown: %d object records "
                           "and %d ref/snapshot records lost" % (b, objs, refs))
        self.lost = True
        self.unplaced.append(b)
        if refs:
            self.refs_damaged = True

    def _summary_prefixes(self, buf, end):
        """Return the id prefixes of the valid summary record at ``end`` of block
        image ``buf`` (``end``: from the footer), or None."""
        if end >= self.foot:
            return None
        n = header_ok(buf, end, self.foot)
        if n < 0 or buf[end] != _T_SUM or n % 6 or not rec_ok(buf, end, n):
            return None
        return bytes(buf[end + 4:end + 4 + 4 * (n // 6)])

    def _region_end(self, b, buf):
        """End of the record area of block ``b`` (image ``buf``): the summary or the footer."""
        off = self._parse_foot(buf)
        return self.foot if off is None else off

    def _parse_foot(self, buf):
        """Return the summary offset from the footer in block image ``buf``, or None
        (no valid footer, or one whose offset is outside the record area)."""
        off = parse_header(memoryview(buf)[self.foot:self.foot + 12], MAGIC_FOOT)
        if off is None or off < self.data_start or off > self.foot:
            return None
        return off

    def _log_order(self):
        """Return a list of the log's blocks, oldest first (a copy of ``order``)."""
        order = self.order
        return [order[i] for i in range(self.nlog)]

    def _log_span(self, lo, hi=0xFFFFFFFF):
        """Return the log's blocks whose seq is in ``[lo, hi)``, oldest first."""
        order = self.order
        oseq = self.oseq
        return [order[i] for i in range(self.nlog) if lo <= oseq[i] < hi]

    def _reset_head(self, b):
        """Make ``b`` the (empty, unsealed unless None) head block."""
        self.head = b
        self.head_pos = self.data_start
        self.head_prefix = bytearray()
        self.head_offs = array("H")
        self.head_sealed = b is None

    def _mount_head(self, b, buf):
        """Index the newest block ``b`` (``buf``: a block-sized buffer to read it
        into); seal it after a torn or damaged tail."""
        self.dev.readblocks(b, buf, 0)
        self._reset_head(b)
        if self._parse_foot(buf) is not None:
            self.head_sealed = True
            return
        end = self.data_start
        dirty = False
        torn_end = 0
        fixed = []
        for pos, typ, n, st in scan_records(buf, self.data_start, self.foot, self.P, fixed):
            if fixed:  # a scan corrected something
                from block_backend.crcfix import note_fixed

                note_fixed(self, b, fixed)
            if st == _OK:
                if typ == _T_SUM:
                    dirty = True
                    break
                if typ == _T_OBJ:
                    oid = hashlib.sha256(memoryview(buf)[pos + _PAYLOAD:pos + _PAYLOAD + n]).digest()
                    self.head_prefix += oid[:4]
                    self.head_offs.append(pos)
                elif typ == _T_DELTA or typ == _T_MANIFEST:
                    self.head_prefix += bytes(buf[pos + _PAYLOAD:pos + _PAYLOAD + 4])
                    self.head_offs.append(pos)
                end = align(pos + _OVERHEAD + n, self.P)
            else:
                dirty = True
                if st == _TORN and typ is not None:
                    torn_end = pos + _OVERHEAD + n
                if st == _DAMAGED:
                    # bytes after damage: never append here
                    end = self.foot
        self.head_pos = end
        if dirty or not all_ff(buf, end, self.B):
            # torn tail: seal after the garbage when the space after it is erased
            last = self.foot
            while last > end and buf[last - 1] == 0xFF:
                last -= 1
            self.head_pos = align(max(last, torn_end), self.P)
            if self.head_pos + summary_size(len(self.head_offs), self.P) <= self.foot:
                self._seal_head()
            else:
                self.head_sealed = True
        if not self.head_sealed:
            self._filt_clear(b)  # rebuilt from the RAM index when sealed

    # -- blocks --------------------------------------------------------------------

    def _erase(self, b, ec=None):
        """Erase block ``b`` and write its erase header: erase count ``ec`` (default:
        read from its header; unreadable: the highest on the device) + 1. A failure
        marks ``b`` bad and raises BadBlock (its contents and log state are kept)."""
        if ec is None:
            ec = self._erase_count(b)
        if ec is None:
            ec = self._max_erase_count()
        try:
            self.dev.ioctl(6, b)
        except OSError:
            self._mark_bad(b)
            raise BadBlock(b)
        self._set_seq(b, 0)
        self._filt_clear(b)
        try:
            self._prog(b, encode_header(MAGIC_ERASE, ec + 1, self.alloc_at, struct.pack("<HHII", *self.fmt)), 0)
        except BadBlock as e:
            if not e.bad:  # the erase left programmed bits
                self._mark_bad(b)
                raise BadBlock(b)
            raise

    def _prog(self, b, buf, off):
        """Program ``buf`` at (b, off) and read it back; an I/O error or a mismatch
        (a silently failing block) marks ``b`` bad and raises BadBlock. A target
        that does not read erased (a flipped bit in erased flash) raises
        BadBlock(b, bad=False) before anything is programmed."""
        if not self._erased(b, off, off + len(buf)):
            raise BadBlock(b, False)
        try:
            self.dev.writeblocks(b, buf, off)
            ok = True
            mv = memoryview(buf)
            for i in range(0, len(buf), _STAGE):  # read back a piece at a time
                m = min(_STAGE, len(buf) - i)
                if self._read(b, off + i, m) != mv[i:i + m]:
                    ok = False
                    break
            mv = None
        except OSError:
            ok = False
        if not ok:
            self._mark_bad(b)
            raise BadBlock(b)

    def _mark_bad(self, b):
        """Remember block ``b`` as bad (recorded on flash by the next batch)."""
        if not self.state[b] & S_BAD:
            self.state[b] |= S_BAD
            self._bad_new.append(b)

    def bad_blocks(self):
        """Return the sorted list of blocks known to be bad."""
        return [b for b in range(self.N) if self.state[b] & S_BAD]

    def _bad_records(self):
        """Return _T_BAD records for the blocks marked bad since the last batch."""
        return [(None, encode_record(_T_BAD, struct.pack("<H", b))) for b in self._bad_new]

    def _reserve(self):
        """Free blocks kept back so that a compaction can always copy the live data."""
        return max(self.live_blocks + 2, self.N // 2)

    def free_blocks(self):
        """Return the number of usable blocks not in the log."""
        n = 0
        for b in range(self.N):
            if not self.state[b]:
                n += 1
        return n

    def _alloc_head(self):
        """Make the least-worn good free block the new head (raises NoSpace); a block
        that fails its erase or alloc header is marked bad and another is tried. A
        free block is used without an erase only when it reads erased after its
        format header; a block whose erase leaves bits programmed is bad."""
        cap = getattr(self, "_cap", None)  # room.make_room: a compaction's largest copy
        if cap is not None and self._compacting and len(self._log_span(self._start_seq)) >= cap:
            raise NoSpace()
        while True:
            best = None
            bestc = None
            clean = False
            top = None
            for b in range(self.N):
                if not self.state[b]:  # neither bad nor in the log
                    hdr = self._read(b, 0, self.data_start)
                    c = parse_format_header(hdr)
                    known = c is not None and c[1:] == self.fmt
                    c = None if c is None else c[0]
                    if c is None:
                        if top is None:
                            top = self._max_erase_count()
                        c = top
                    if best is None or c < bestc:
                        best, bestc = b, c
                        # erased, header written, never allocated: usable as is
                        clean = known and all_ff(hdr, self.alloc_at, self.data_start)
            if best is None:
                raise NoSpace()
            rec = encode_record(_T_SEQ, struct.pack("<I", self.next_seq))
            rec = rec + b"\xff" * (align(len(rec), self.P) - len(rec))
            try:
                if clean and not self._erased(best, self.data_start, self.B):
                    clean = False  # a bit flipped in its erased space
                if not clean:
                    self._erase(best, bestc)
                self._prog(best, encode_header(MAGIC_ALLOC, self.next_seq, self.H) + rec, self.alloc_at)
            except BadBlock as e:
                if not e.bad:
                    self._mark_bad(best)  # just erased, yet not erased
                continue
            self._set_seq(best, self.next_seq)
            self._filt_clear(best)
            self.next_seq += 1
            self._reset_head(best)
            self.head_pos += len(rec)
            return

    def _seal_head(self):
        """Program the head's summary record and footer: the block is full."""
        rec = encode_record(_T_SUM, summary_payload(self.head_prefix, self.head_offs))
        rec = rec + b"\xff" * (align(len(rec), self.P) - len(rec))
        self.head_sealed = True
        self._filt_add(self.head, self.head_prefix)
        try:
            self._prog(self.head, rec, self.head_pos)
            self._prog(self.head, encode_header(MAGIC_FOOT, self.head_pos, self.H), self.foot)
        except BadBlock:
            return  # sealed without a summary: lookups scan it
        self.head_pos += len(rec)

    def _program_batch(self, recs):
        """Append records (an iterable of ``(oid or None, record bytes)``, consumed one
        at a time) contiguously from the head; objects get indexed once programmed.
        Bytes are programmed ``_STAGE`` at a time (whole prog units; the batch's last
        unit padded), so RAM holds one record and a few hundred bytes."""
        buf = bytearray()  # bytes for [head_pos, head_pos + len(buf))
        entries = []  # (oid, start, end) of object records not yet indexed
        for oid, rec in recs:
            while True:
                if self.head_sealed:
                    if buf:
                        raise StorageError("internal: unflushed batch")
                    self._alloc_head()
                start = self.head_pos + len(buf)
                nobj = len(self.head_offs) + len(entries) + (1 if oid is not None else 0)
                if start + len(rec) + summary_size(nobj, self.P) <= self.foot and \
                        self._erased(self.head, start, align(start + len(rec), self.P)):
                    break  # it fits, on space that still reads erased
                if start <= self.data_start + self.H:
                    raise StorageError("record of %d bytes does not fit in a block" % len(rec))
                self._program_head(buf, entries, True)
                buf = bytearray()
                self._seal_head()
            if oid is not None:
                entries.append((oid, start, start + len(rec)))
            if rec[0] == _T_CHUNK:  # where it goes (chunks.records builds the manifest)
                self._placed = (self.head, start)
            if len(rec) >= _STAGE and len(rec) > 2 * self.P:
                # a large record (a chunk) is programmed from itself, not copied
                mv = memoryview(rec)
                fill = (self.P - len(buf) % self.P) % self.P
                buf += mv[:fill]
                self._program_head(buf, entries, False)
                k = (len(rec) - fill) // self.P * self.P
                self._program_head(mv[fill:fill + k], entries, False)
                buf = bytearray(mv[fill + k:])
                mv = rec = None
                continue
            buf += rec
            rec = None
            if len(buf) >= _STAGE:
                buf = self._program_head(buf, entries, False)
        self._program_head(buf, entries, True)

    def _program_head(self, buf, entries, last):
        """Program ``buf``'s whole prog units at the head (``last``: all of it, padded
        with 0xFF); index the object records of ``entries`` that are now complete
        (removed from it). Return the bytes not programmed (a new bytearray)."""
        n = len(buf)
        k = align(n, self.P) if last else n - n % self.P
        if k > n:
            buf += b"\xff" * (k - n)
        if k:
            try:
                self._prog(self.head, buf if k == len(buf) else bytes(memoryview(buf)[:k]), self.head_pos)
            except BadBlock:  # (not erased: _program_batch checked, a flip since)
                self.head_sealed = True  # its earlier records stay readable
                raise  # the batch is programmed again elsewhere
            self.head_pos += k
        done = 0
        for oid, start, end in entries:
            if end > self.head_pos:
                break
            self.head_prefix += oid[:4]
            self.head_offs.append(start)
            done += 1
        if done:
            del entries[:done]
        return bytearray(memoryview(buf)[k:])

    # -- refs and batches ----------------------------------------------------------

    def update_ref(self, name, oid):
        """Point ref ``name`` at ``oid`` (None: remove): the pending objects and the
        ref record are programmed as one batch, then synced (the commit point)."""
        nb = name.encode()
        if len(nb) > 255:
            raise StorageError("ref name too long")
        rec = encode_record(_T_REF, bytes((len(nb),)) + nb + (oid or b""))
        self._write([(None, rec)], ref=(name, oid))
        if oid is None:
            self._refs.pop(name, None)
        else:
            self._refs[name] = oid
        self._orphans = None

    def flush(self):
        """Make pending objects durable (a ref update does this too)."""
        self._flush_objects()
        self.dev.ioctl(3, 0)

    def _batch(self, tail, extra):
        """Yield the records of a batch: bad-block notes, the pending objects (each
        record built when it is programmed), ``extra()``'s records, then ``tail``."""
        for b in self._bad_new:
            yield None, encode_record(_T_BAD, struct.pack("<H", b))
        for oid, raw, base, base_raw in self._pending:
            if type(raw) is list:  # held pieces of a chunked object (chunks.add_pieces)
                from block_backend import chunks

                for r in chunks.records(self, oid, base_raw, raw):
                    yield r
                continue
            yield oid, self._object_record(oid, raw, base, base_raw)
        if extra is not None:
            for r in extra():
                yield r
        for r in tail:
            yield r

    def _write(self, tail, extra=None, extra_bytes=0, ref=None):
        """Program the pending objects, ``extra()``'s records (``extra_bytes`` in
        all) and the records ``tail`` as one batch; compact first when free blocks
        run low (``room.make_room``: DeviceFull when that does not help, and
        then nothing was programmed). ``ref``: the ``(name, id)`` ``tail`` sets."""
        total = self._pending_bytes + extra_bytes
        total += sum(len(r) for o, r in tail)
        # blocks the batch may take (slack for a partly filled head and summaries)
        need = total // (self.foot - self.data_start - summary_size(8, self.P)) + 2
        free = self.free_blocks() - need  # after the batch: room for a copy of the log?
        if not self._compacting and (free < self._reserve() or free < self.nlog + need + 2):
            from block_backend.room import make_room

            if make_room(self, need, ref):
                return
        while True:
            try:
                self._program_batch(self._batch(tail, extra))
                break
            except BadBlock:
                if self.free_blocks() < 2:
                    raise DeviceFull("device full: too many bad blocks")
            except NoSpace:
                raise DeviceFull("device full")
        self._bad_new = []
        if getattr(self, "_uncommitted", None) is not None:
            self._uncommitted = None
        self.dev.ioctl(3, 0)
        self._pending.clear()
        self._pending_bytes = 0
        self._absent = None
        if getattr(self, "_hold", False):
            self._hold = False


def _record_fits(fs, b, pos, typ, buf, n):
    """Return True when the valid record at ``pos`` of block ``b`` (image ``buf``,
    payload ``n`` bytes, not an object) makes sense on this device; else note
    the damage (a record of a ref or snapshot makes the refs unreadable)."""
    p = pos + _PAYLOAD
    why = None
    if typ == _T_REF:
        ln = buf[p] if n else 0
        if not n or 1 + ln > n or (n - 1 - ln) not in (0, 32):
            why = "ref record of %d bytes names %d-byte name" % (n, ln)
        else:
            try:
                bytes(buf[p + 1:p + 1 + ln]).decode()
            except (UnicodeError, ValueError):
                why = "ref name is not UTF-8"
    elif typ == _T_BAD:
        if n != 2:
            why = "bad-block record of %d bytes" % n
        elif buf[p] | (buf[p + 1] << 8) >= fs.N:
            why = "bad-block record names block %d of %d" % (buf[p] | (buf[p + 1] << 8), fs.N)
    elif typ == _T_SNAP_END:
        if n != 6:
            why = "snapshot end of %d bytes" % n
    elif typ == _T_SNAP_BEGIN:
        if n and n != 4:
            why = "snapshot begin of %d bytes" % n
    elif typ == _T_SEQ:
        if n != 4:
            why = "seq record of %d bytes" % n
    if why is None:
        return True
    fs.damage.append("block %d offset %d: %s" % (b, pos, why))
    if typ != _T_BAD:
        fs.refs_damaged = True
    return False
