"""Records of the flash log (docs/SPEC.md "Flash layout"): encoding, CRCs, scanning.

A record is ``type u8, len u16 LE, hcrc u8`` (low byte of the CRC-32 of the first 3
bytes), ``len`` payload bytes, then the CRC-32 (LE) of header + payload. Records
are packed; a batch starts on a prog unit boundary and is padded with 0xFF.

Record types are numbered 1..T_MAX (the table below); a new type takes the next
number, raises T_MAX and gets a row in docs/SPEC.md "Record types". A reader
treats a valid record of a type above its T_MAX as damage.
"""

# (binascii and struct are imported in the functions that use them: a module
# global costs heap on MicroPython, docs/DESIGN.md "Memory")

T_OBJ = 1
T_REF = 2
T_SNAP_BEGIN = 3
T_SNAP_END = 4
T_SUM = 5
T_DELTA = 6
T_BAD = 7
T_SEQ = 8
T_CHUNK = 9  # a piece of a chunked object's raw bytes (chunks.py)
T_MANIFEST = 10  # a chunked object: its id, size and its chunks' addresses (chunks.py)
T_MAX = 10

# A record: type u8 at 0, len u16 at 1, hcrc u8 at 3, the payload at 4
# (``_PAYLOAD``), then its crc32: 8 bytes besides the payload (``_OVERHEAD``).
# Modules that read records name these offsets with their own ``const`` (no heap).

OK = 0
TORN = 1
DAMAGED = 2


def crc32(data, crc=0):
    """Return the unsigned CRC-32 of ``data`` (continuing from ``crc``)."""
    import binascii

    return binascii.crc32(data, crc) & 0xFFFFFFFF


def align(n, p):
    """Return ``n`` rounded up to a multiple of ``p``."""
    return (n + p - 1) // p * p


def encode_record(typ, payload):
    """Return the bytes (a ``bytearray``, built in place) of a record of type ``typ``
    carrying ``payload``."""
    n = len(payload)
    rec = bytearray(n + 8)
    rec[0] = typ
    rec[1] = n & 0xFF
    rec[2] = n >> 8
    mv = memoryview(rec)
    rec[3] = crc32(mv[:3]) & 0xFF
    mv[4:4 + n] = payload
    import struct

    struct.pack_into("<I", rec, 4 + n, crc32(mv[:4 + n]))
    return rec


def header_ok(buf, pos, end):
    """Return the payload length if a plausible record header is at ``pos``, else -1."""
    if pos + 8 > end:
        return -1
    typ = buf[pos]
    if typ < T_OBJ or typ > T_MAX:
        return -1
    if crc32(bytes(buf[pos:pos + 3])) & 0xFF != buf[pos + 3]:
        return -1
    n = buf[pos + 1] | (buf[pos + 2] << 8)
    if pos + 8 + n > end:
        return -1
    return n


def rec_ok(buf, pos, n):
    """Return True when the record at ``pos`` (payload length ``n``) passes its CRC."""
    import struct

    mv = memoryview(buf)
    want = struct.unpack("<I", bytes(mv[pos + 4 + n:pos + 8 + n]))[0]
    return crc32(mv[pos:pos + 4 + n]) == want


def all_ff(buf, start, end):
    """Return True when ``buf[start:end]`` is all 0xFF (erased)."""
    i = start
    while i < end:
        j = min(end, i + 64)
        if bytes(buf[i:j]) != b"\xff" * (j - i):
            return False
        i = j
    return True


def scan_records(buf, start, end, prog, fixed=None):
    """Yield ``(pos, typ, n, status)`` for the records of a block image ``buf``.

    status OK: a valid record (payload at pos + 4, n bytes) -- possibly after a
    single flipped bit was corrected in ``buf`` (a bytearray), then noted in
    ``fixed`` (see ``crcfix.fix``; a byte of at most three 0 bits where a record
    could start is padding with flipped bits: the rest of its unit is skipped and
    noted); TORN: the end of the log (an interrupted program:
    everything after it is erased), scanning stops; DAMAGED: bytes that are
    neither (typ None when the header is unreadable), scanning resynchronises
    after it."""
    pos = start
    while pos < end:
        if buf[pos] == 0xFF:
            pos = align(pos + 1, prog)
            continue
        if bin(buf[pos] ^ 0xFF).count("1") <= 3:
            # at most 3 bits 0: never a record's type byte (1..T_MAX, at most 3 bits 1),
            # even after a flip: the rest of this unit is a batch's padding, bits flipped
            if fixed is not None:
                fixed.append((pos, False, "flipped bits in erased padding"))
            pos = align(pos + 1, prog)
            continue
        n = header_ok(buf, pos, end)
        if n < 0 or not rec_ok(buf, pos, n):
            if type(buf) is bytearray:  # try one flipped bit (loaded on a failure only)
                from block_backend.crcfix import fix

                m = fix(buf, pos, end, prog, fixed, header_ok, rec_ok)
                if m >= 0:
                    n = m
        if n >= 0:
            if rec_ok(buf, pos, n):
                yield pos, buf[pos], n, OK
                if buf[pos] == T_SUM:
                    return
                pos += 8 + n
                continue
            last = (pos + 7 + n) // prog * prog
            if all_ff(buf, last, pos + 8 + n) and all_ff(buf, pos + 8 + n, end):
                yield pos, buf[pos], n, TORN
                return
            yield pos, buf[pos], n, DAMAGED
            pos += 8 + n
            continue
        if all_ff(buf, align(pos + 1, prog), end):
            yield pos, None, 0, TORN
            return
        yield pos, None, 0, DAMAGED
        q = pos + 1
        while q < end:
            m = header_ok(buf, q, end)
            if m >= 0 and rec_ok(buf, q, m):
                break
            q += 1
        pos = q
