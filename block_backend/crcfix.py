"""Single-bit correction of a record by its CRC-32 (docs/SPEC.md "Flash layout",
"Damage and torn writes"), imported only when a record fails its CRC.

CRC-32 is linear: flipping bit ``b`` of byte ``k`` of a record of ``L`` covered
bytes changes its CRC by a syndrome that depends only on ``b`` and ``L - 1 - k``
(the table entry of ``1 << b``, advanced through ``L - 1 - k`` zero bytes), and
these syndromes are distinct for records far shorter than 2^32 bits. So when the
stored CRC differs from the computed one by a single bit, the stored CRC was hit;
when it differs by the syndrome of a payload bit, that bit was hit. A flip in the
header's ``type``/``len``/``hcrc`` bytes is found by trying the 32 header bits.

It imports no other module of the store: ``records`` hands it its record checks
(``header_ok``, ``rec_ok``), so the two never import each other.
"""

import binascii
import struct

FIX_MAX = 512  # longest record (header + payload) corrected: O(8 * length) CRC steps


def _crc(data, crc=0):
    return binascii.crc32(data, crc) & 0xFFFFFFFF


def _erased(buf, start, end):
    return bytes(buf[start:end]) == b"\xff" * (end - start)


def _advance(r):
    """Return the raw CRC-32 register ``r`` after one zero byte."""
    return _crc(b"\x00", r ^ 0xFFFFFFFF) ^ 0xFFFFFFFF


def _syndrome_fix(buf, pos, n):
    """Flip the one bit of the record at ``pos`` (payload length ``n``) whose
    syndrome matches its CRC error; return ``(offset, mask)`` of that bit, or None."""
    L = 4 + n
    mv = memoryview(buf)
    s = _crc(mv[pos:pos + L]) ^ struct.unpack("<I", bytes(mv[pos + L:pos + L + 4]))[0]
    if not s:
        return None
    if not s & (s - 1):  # one bit: the stored CRC itself was hit
        i = 0
        while not (s >> i) & 1:
            i += 1
        return pos + L + i // 8, 1 << (i % 8)
    regs = [_crc(bytes((1 << b,)), 0xFFFFFFFF) ^ 0xFFFFFFFF for b in range(8)]
    for d in range(L):
        for b in range(8):
            if regs[b] == s:
                return pos + L - 1 - d, 1 << b
            regs[b] = _advance(regs[b])
    return None


def correct(buf, pos, end, header_ok, rec_ok):
    """Correct a single flipped bit in the record at ``pos`` of block image ``buf``
    (a bytearray; records end by ``end``; ``header_ok``, ``rec_ok``: the
    ``records`` checks) in place. Return ``(n, k)``: the payload
    length and the offset of the corrected byte, or None (no single-bit error
    explains the CRC failure; ``buf`` is unchanged). ``buf[k] ^ mask`` is what
    the flash holds."""
    n = header_ok(buf, pos, end)
    if 0 <= n and 8 + n <= FIX_MAX:
        hit = _syndrome_fix(buf, pos, n)
        if hit is not None:
            k, mask = hit
            buf[k] ^= mask
            if header_ok(buf, pos, end) == n and rec_ok(buf, pos, n):
                return n, k, mask
            buf[k] ^= mask  # a header bit: the length changes, tried below
    for k in range(pos, min(pos + 4, end)):
        for b in range(8):
            buf[k] ^= 1 << b
            m = header_ok(buf, pos, end)
            if m >= 0 and 8 + m <= FIX_MAX and rec_ok(buf, pos, m):
                return m, k, 1 << b
            buf[k] ^= 1 << b
    return None


def fix(buf, pos, end, prog, fixed, header_ok, rec_ok):
    """Try to correct one flipped bit in the record at ``pos`` (``buf`` changed in
    place); return its payload length or -1. A correction is appended to
    ``fixed`` as ``(pos, damage, what)``: ``damage`` False when the bit was in an
    erased-looking last unit with only erased bytes after it (a torn write one
    bit short, or a flip there: either way the record as written)."""
    r = correct(buf, pos, end, header_ok, rec_ok)
    if r is None:
        return -1
    n, k, mask = r
    u = k // prog * prog
    buf[k] ^= mask
    tail = _erased(buf, u, min(end, u + prog)) and _erased(buf, pos + 8 + n, end)
    buf[k] ^= mask
    if fixed is not None:
        fixed.append((pos, not tail, "flipped bit corrected"))
    return n



def note_fixed(fs, b, fixed):
    """Report what a scan of block ``b`` corrected (``fixed``: ``(offset, damage,
    what)`` from ``records.scan_records``, emptied) in ``fs.damage`` (fsck not
    clean; repair rewrites the record) or ``fs.corrected`` (a bit in an
    erased-looking last unit, where a torn write one bit short looks the same,
    or in erased padding)."""
    for pos, damage, what in fixed:
        msg = "block %d offset %d: %s" % (b, pos, what)
        notes = fs.damage if damage else fs.corrected
        if msg not in notes:
            notes.append(msg)
    del fixed[:]


def read_fixed(fs, b, off, header_ok, rec_ok):
    """Return ``(typ, payload)`` of the record at (b, off) of store ``fs`` that
    failed its CRC when one flipped bit explains it (corrected in RAM; the flash
    is unchanged), else None. Records of up to FIX_MAX bytes."""
    m = min(FIX_MAX, fs.foot - off)
    if m < 8:
        return None
    buf = fs._read(b, off, m)
    r = correct(buf, 0, m, header_ok, rec_ok)
    if r is None:
        return None
    return buf[0], buf[4:4 + r[0]]
