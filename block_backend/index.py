"""Object lookups: the pending batch, a small id -> address cache, the head block's
RAM index and the sealed blocks' summaries (newest first, skipping blocks whose
miss filter rules the id out, when the filters fit in ``filter_ram``); adding
objects.

``Index`` is a mixin of ``FlashStore``.
"""

import hashlib
import struct

from block_backend import delta
from block_backend.layout import MAGIC_FOOT, parse_header
from block_backend.records import crc32, encode_record, header_ok, scan_records
from portable_core.compat import const
from portable_core.storage import StorageError

# Record types and scan statuses of records.py, as this module's own ``const``
# (a module global costs heap on MicroPython, a const none; test_flashstore_format
# checks they equal records.py's).
_T_OBJ = const(1)
_T_SUM = const(5)
_T_DELTA = const(6)
_T_MANIFEST = const(10)
_OK = const(0)
_DAMAGED = const(2)
_SCAN = const(128)  # bytes of a summary read at a time
_CACHE_MAX = const(8)  # id -> address of its verified record (block << 16 | offset)
_FILTER_K = const(3)
FILTER_RAM = 4096  # default RAM for the miss filters (FlashStore ``filter_ram``)
PENDING_MAX = 512  # bytes of new objects kept in RAM before they are programmed
MAX_DEPTH = 32  # longest delta chain a reader follows (a store writes <= max_chain)


class Index:
    """Mixin: find, read, add and iterate objects."""

    # compaction's map of rewritten bases (compaction.py), set only while it
    # runs: a class default keeps the store's attribute table one size smaller
    _rev = None

    def _read_record(self, b, off):
        """Return (typ, payload: a bytearray of exactly its length) of the valid
        record at (b, off) (one flipped bit corrected: crcfix), or None when damaged."""
        if off + 8 > self.B:
            return None
        hdr = self._read(b, off, 8)
        n = header_ok(hdr, 0, 8 + 0xFFFF)
        if n >= 0 and off + 8 + n <= self.B:
            p = self._read(b, off + 4, n)
            crc = self._read(b, off + 4 + n, 4)
            if crc32(p, crc32(memoryview(hdr)[:4])) == struct.unpack("<I", crc)[0]:
                return hdr[0], p
        from block_backend.crcfix import read_fixed  # one flipped bit?
        from block_backend.records import rec_ok

        return read_fixed(self, b, off, header_ok, rec_ok)

    # -- miss filter: a Bloom filter of FB bytes per sealed block ------------------

    def _filt_pos(self, pre):
        """Return the _FILTER_K (byte index within a block's filter, bit mask) pairs
        that the 4-byte id prefix ``pre`` sets (double hashing on its two halves)."""
        m = self.FB * 8
        if not m:
            return None
        h1 = pre[0] | (pre[1] << 8)
        h2 = pre[2] | (pre[3] << 8) | 1
        out = []
        for i in range(_FILTER_K):
            x = (h1 + i * h2) % m
            out.append((x >> 3, 1 << (x & 7)))
        return out

    def _filt_add(self, b, prefixes):
        """Add the 4-byte id prefixes ``prefixes`` to block ``b``'s filter; mark it complete."""
        if not self.FB:
            return
        f = self.filt
        base = b * self.FB
        for j in range(0, len(prefixes) - 3, 4):
            for i, mask in self._filt_pos(prefixes[j:j + 4]):
                f[base + i] |= mask
        self.filt_ok[b] = 1

    def _filt_clear(self, b):
        """Forget block ``b``'s filter (erased or reallocated: lookups scan until rebuilt)."""
        if not self.FB:
            return
        self.filt_ok[b] = 0
        base = b * self.FB
        f = self.filt
        for i in range(base, base + self.FB):
            f[i] = 0

    def _filt_may(self, b, pos):
        """Return False when block ``b``'s filter proves the prefix (``pos`` from
        ``_filt_pos``) absent from it; True when it may be there or has no filter."""
        if not self.filt_ok[b]:
            return True
        base = b * self.FB
        f = self.filt
        for i, mask in pos:
            if not f[base + i] & mask:
                return False
        return True

    def _block_of_seq(self, seq):
        """Return the block whose alloc header carries ``seq``, or None (erased)."""
        oseq = self.oseq
        lo = 0
        hi = self.nlog
        while lo < hi:
            mid = (lo + hi) // 2
            s = oseq[mid]
            if s == seq:
                return self.order[mid]
            if s < seq:
                lo = mid + 1
            else:
                hi = mid
        return None

    def _materialize(self, b, off, state):
        """Return ``(raw, depth, root_block, root_offset)`` of the object record (full
        or delta) at (b, off), following a delta's base chain (at most MAX_DEPTH),
        or None: ``state[0]`` is set when a record is damaged; a base in a block
        that compaction erased only makes the record stale."""
        chain = []  # where the deltas are (block << 16 | offset), tip first
        while True:
            r = self._read_record(b, off)
            if r is None:
                state[0] = True
                return None
            typ, p = r
            if typ == _T_OBJ:
                break
            if typ == _T_MANIFEST and not chain:  # a chunked object: verified, not built
                from block_backend import chunks

                ch = chunks.open_manifest(self, b, off, p)
                if ch is None:
                    state[0] = True
                    return None
                self._mat_info = (self.max_chain, b, off)  # never a delta base
                return ch, self.max_chain, b, off
            if typ != _T_DELTA or len(chain) >= MAX_DEPTH or len(p) < 13:
                state[0] = True
                return None
            chain.append((b << 16) | off)
            h = delta.parse_head(p)
            p = r = None
            b = self._block_of_seq(h[1])
            off = h[2]
            if b is None:
                return None
        raw = p
        p = r = None
        depth = len(chain)
        prev = None
        while chain:  # root first: each delta is read again (RAM: two versions)
            at = chain.pop()
            r = self._read_record(at >> 16, at & 0xFFFF)
            prev = raw
            raw = None if r is None else delta.apply(prev, r[1])
            r = None
            if raw is None:
                state[0] = True
                return None
        if self._compacting:
            self._mat_base = prev  # compaction may store prev as a delta of raw
        prev = None
        self._mat_info = (depth, b, off)
        return raw, depth, b, off

    def _try(self, b, off, oid, state):
        """Return the raw bytes of ``oid`` if the record at (b, off) holds it, else None
        (``state[0]`` is set when the record is damaged). The sha256 is verified:
        an id prefix match is only a candidate."""
        m = self._materialize(b, off, state)
        if m is None:
            return None
        raw = m[0]
        if hasattr(raw, "at"):  # chunked (block_backend.chunks.Chunked): verified
            return raw if raw.oid == oid else None
        if hashlib.sha256(raw).digest() != oid:
            return None
        return raw

    def _find(self, oid, min_seq=0):
        """Return ``(raw, block, offset)`` of object ``oid`` or ``(None, corrupt_seen, 0)``."""
        state = [False]
        pre = bytes(oid[:4])
        raw = self._pending_raw(oid)
        if raw is not None:
            return raw, None, 0
        hit = self._cached(oid)
        if hit is not None:
            b = hit >> 16
            if self.seq_of(b) >= max(min_seq, 1):
                raw = self._try(b, hit & 0xFFFF, oid, state)
                if raw is not None:
                    self._remember(oid, b, hit & 0xFFFF)  # most recent again
                    return raw, b, hit & 0xFFFF
        order = self.order
        oseq = self.oseq
        fpos = self._filt_pos(pre)
        for i in range(self.nlog - 1, -1, -1):
            b = order[i]
            if oseq[i] < min_seq:
                break
            if b == self.head and not self.head_sealed:
                found = self._find_in(b, self.head_prefix, self.head_offs, pre, oid, state)
            elif fpos is not None and not self._filt_may(b, fpos):
                continue
            else:
                found = self._find_block(b, pre, oid, state)
            if found is not None:
                self._remember(oid, b, found[1])
                return found[0], b, found[1]
        return None, state[0], 0

    def _pending_raw(self, oid):
        """Return the raw bytes of ``oid`` when it waits in the pending batch, else None."""
        for p in self._pending:
            if p[0] == oid:
                return p[1]
        return None

    def _cached(self, oid):
        """Return the cached address (block << 16 | offset) of ``oid``, or None."""
        for k, loc in self._cache:
            if k == oid:
                return loc
        return None

    def _remember(self, oid, b, off):
        """Cache the address of ``oid``'s record (just verified), most recent last;
        the least recently remembered entry goes when the cache is full. Cleared
        when blocks are erased."""
        cache = self._cache
        loc = (b << 16) | off
        for i in range(len(cache)):
            if cache[i][0] == oid:
                e = cache.pop(i)
                if e[1] == loc:  # the same entry again: nothing new allocated
                    cache.append(e)
                    return
                break
        if len(cache) >= _CACHE_MAX:
            del cache[0]
        cache.append((oid if type(oid) is bytes else bytes(oid), loc))

    def _find_in(self, b, prefixes, offs, pre, oid, state):
        """Try the records of block ``b`` whose id prefix (in ``prefixes``) is ``pre``
        (``offs``: their offsets)."""
        i = prefixes.find(pre)
        while i >= 0:
            if i % 4 == 0:
                off = offs[i // 4]
                raw = self._try(b, off, oid, state)
                if raw is not None:
                    return raw, off
            i = prefixes.find(pre, i + 1)
        return None

    def _summary_hits(self, b, pre):
        """Return the offsets of sealed block ``b``'s object records whose id prefix
        is ``pre``, from its summary record, or None when it has no valid summary.
        The summary is read ``_SCAN`` bytes at a time into one buffer, its CRC
        checked on the way: nothing the size of the summary is allocated."""
        off = parse_header(self._read(b, self.foot, 12), MAGIC_FOOT)
        if off is None or off + 8 > self.foot:
            return None
        hdr = self._read(b, off, 8)
        n = header_ok(hdr, 0, 8 + 0xFFFF)
        if n < 0 or hdr[0] != _T_SUM or n % 6 or off + 8 + n > self.B:
            return None
        k = n // 6
        crc = crc32(memoryview(hdr)[:4])
        buf = self._scan_buf
        if buf is None:
            buf = self._scan_buf = bytearray(_SCAN)
        hits = []  # entry numbers, then (after the prefixes) their offsets
        offs = []
        pos = 0
        while pos < n:
            m = min(_SCAN, n - pos)
            mv = memoryview(buf)[:m]
            self.dev.readblocks(b, mv, off + 4 + pos)
            crc = crc32(mv, crc)
            if pos < 4 * k:  # prefixes (_SCAN is a multiple of 4: entries never straddle)
                end = min(m, 4 * k - pos)
                i = buf.find(pre, 0, end)
                while i >= 0:
                    if i % 4 == 0:
                        hits.append((pos + i) // 4)
                    i = buf.find(pre, i + 1, end)
            for j in hits:  # offsets: u16 LE at 4k + 2j (even: never straddle)
                at = 4 * k + 2 * j - pos
                if 0 <= at < m:
                    offs.append(buf[at] | (buf[at + 1] << 8))
            pos += m
        tail = self._read(b, off + 4 + n, 4)
        if crc != struct.unpack("<I", tail)[0] or len(offs) != len(hits):
            return None
        return offs

    def _find_block(self, b, pre, oid, state):
        """Look ``oid`` up in sealed block ``b`` (its summary, or a scan without one)."""
        offs = self._summary_hits(b, pre)
        if offs is not None:
            for off in offs:
                raw = self._try(b, off, oid, state)
                if raw is not None:
                    return raw, off
            return None
        buf = self._read(b, 0, self.B)
        for pos, typ, n, st in scan_records(buf, self.data_start, self._region_end(b, buf), self.P):
            if st == _OK and typ == _T_OBJ:
                raw = bytes(buf[pos + 4:pos + 4 + n])
                if hashlib.sha256(raw).digest() == oid:
                    self._mat_info = (0, b, pos)
                    return raw, pos
            elif st == _OK and (typ == _T_DELTA or typ == _T_MANIFEST):
                if bytes(buf[pos + 4:pos + 8]) == pre:
                    raw = self._try(b, pos, oid, state)
                    if raw is not None:
                        return raw, pos
            elif st == _DAMAGED and (typ is None or typ == _T_OBJ or typ == _T_DELTA or typ == _T_MANIFEST):
                state[0] = True
        return None

    def get_object(self, oid):
        """Return the raw bytes of ``oid``, None when absent; StorageError when damaged."""
        oid = bytes(oid)
        raw, b, _ = self._find(oid)
        if raw is not None and hasattr(raw, "at"):  # chunked: read into one buffer
            from block_backend import chunks

            got = chunks.read_split(self, raw, 0)
            if got is not None:
                return got[1]
            b = True
            raw = None
        if type(raw) is list:  # held pieces (chunks.add_pieces)
            return b"".join(raw)
        if raw is not None:
            return raw if type(raw) is bytes else bytes(raw)
        if b or self.lost:
            import binascii

            raise StorageError("object %s is damaged on flash" % binascii.hexlify(oid).decode())
        return None

    def has_object(self, oid):
        """Return True when ``oid`` is stored (and readable). An absent id is
        remembered until the next write, so that adding it right after (what a
        tree write does) does not search the log a second time."""
        oid = bytes(oid)
        found = self._find(oid)[0] is not None
        self._absent = None if found else oid
        return found

    def add_object(self, raw, base=None, base_raw=None):
        """Buffer ``raw`` unless stored; return its id. ``base``: the id of a stored
        object ``raw`` was edited from (then a delta may be stored); ``base_raw``:
        its bytes, when the caller holds them (then they are not read again). The
        batch is flushed when large."""
        if len(raw) > self.foot - self.data_start - 256:
            from block_backend import chunks

            if chunks.needs_chunks(self, len(raw)):
                return chunks.add_pieces(self, (raw,))
        raw = bytes(raw)
        oid = hashlib.sha256(raw).digest()
        if self._absent == oid:  # just searched: only the pending batch may hold it
            absent = self._pending_raw(oid) is None
        else:
            absent = self._find(oid)[0] is None
        self._absent = None
        if absent:
            if base is not None:
                base = bytes(base)
            self._pending.append((oid, raw, base, base_raw))
            self._pending_bytes += len(raw) + 8
            if self._pending_bytes > PENDING_MAX and not getattr(self, "_hold", False):
                try:
                    self._flush_objects()
                except Exception as e:
                    from block_backend.errors import DeviceFull

                    if isinstance(e, DeviceFull):
                        # no room for an uncommitted batch: the objects stay in RAM
                        # until the ref update, which may commit through a compaction
                        # (room.make_room); no flush is tried again before it
                        self._hold = True
                    else:  # a failed add leaves nothing of it pending
                        if self._pending and self._pending[-1][0] == oid:
                            self._pending.pop()
                            self._pending_bytes -= len(raw) + 8
                        raise
        return oid

    def _object_record(self, oid, raw, base, base_raw=None):
        """Return the record storing ``raw``: a delta against ``base`` (or its chain's
        root when the chain is ``max_chain`` deep) when that is smaller, else full."""
        p = None
        if base is not None and base != oid and len(raw) >= 40:
            if base_raw is not None:
                p = self._delta_on_known(oid, raw, base, base_raw)
            if p is None:
                p = self._delta_payload(oid, raw, base)
            elif not p:
                p = None
        if p is None:
            return encode_record(_T_OBJ, raw)
        return encode_record(_T_DELTA, p)

    def _delta_on_known(self, oid, raw, base, base_raw):
        """Return a _T_DELTA payload of ``raw`` against ``base`` whose bytes the caller
        gave (``base_raw``, checked against the id) when the cache knows where its
        verified record is and its chain is not full; else None. Nothing is read
        but the record's depth."""
        loc = self._cached(base)
        if loc is None:
            return None
        b = loc >> 16
        off = loc & 0xFFFF
        seq = self.seq_of(b)
        if not seq or hashlib.sha256(base_raw).digest() != base:
            return None
        hdr = self._read(b, off, 15)
        if hdr[0] == _T_OBJ:
            depth = 0
        elif hdr[0] == _T_DELTA:
            depth = hdr[14]  # payload: prefix 4, base seq 4, base offset 2, depth 1
        else:
            return None
        if depth >= self.max_chain:
            return None
        p = self._delta_against(oid, raw, base_raw, seq, off, depth)
        return b"" if p is None else p  # b"": known, but a full record is smaller

    def _delta_against(self, oid, raw, braw, bseq, boff, depth):
        """Return the _T_DELTA payload of ``raw`` against ``braw`` (the object of the
        record at offset ``boff`` of the block with seq ``bseq``, chain depth
        ``depth``), or None when not smaller."""
        runs = delta.diff(braw, raw, len(raw) - 13 - 8)
        if runs is None:
            return None
        p = delta.encode(oid, bseq, boff, depth + 1, len(raw), runs)
        runs = None
        if not delta.rebuilds(braw, p, raw):
            return None
        return p

    def _delta_payload(self, oid, raw, base):
        """Return a _T_DELTA payload of ``raw`` against stored ``base``, or None."""
        try:
            found = self._find(base)
        except StorageError:
            return None
        if found[1] is None or found[0] is None or hasattr(found[0], "at"):
            return None
        braw, bb, boff = found
        found = None
        depth, rb, roff = self._mat_info  # of the record _find just verified
        if depth >= self.max_chain:
            r = self._read_record(rb, roff)
            if r is None:
                return None
            braw = r[1]
            depth = 0
            bb, boff = rb, roff
        return self._delta_against(oid, raw, braw, self.seq_of(bb), boff, depth)

    def _flush_objects(self):
        """Program the pending objects as an uncommitted batch (tracked as orphans)."""
        if not self._pending:
            return
        if self._orphans is None:
            if self.head_sealed:
                self._orphans = (self.next_seq, 0)
            else:
                self._orphans = (self.next_seq - 1, self.head_pos)
        self._write([])

    def iterate_objects(self):
        """Yield every valid object id once (a block at a time; duplicates skipped)."""
        for oid, raw, _, _ in list(self._pending):
            yield oid
        for b in self._log_order():
            buf = self._read(b, 0, self.B)
            for pos, typ, n, st in scan_records(buf, self.data_start, self._region_end(b, buf), self.P):
                if st == _OK and (typ == _T_OBJ or typ == _T_DELTA or typ == _T_MANIFEST):
                    oid = self._record_id(b, pos, buf, typ, n)
                    if oid is None:
                        continue
                    r = self._find(oid)
                    if r[1] == b and r[2] == pos:
                        yield oid

    def _record_id(self, b, pos, buf, typ, n):
        """Return the id of the valid object record at (b, pos) (image ``buf``), or
        None when a delta cannot be rebuilt."""
        if typ == _T_OBJ:
            return hashlib.sha256(memoryview(buf)[pos + 4:pos + 4 + n]).digest()
        if typ == _T_MANIFEST:  # its id is stored (checked when the object is read)
            return bytes(buf[pos + 4:pos + 36]) if n >= 36 else None
        m = self._materialize(b, pos, [False])
        if m is None:
            return None
        return hashlib.sha256(m[0]).digest()
