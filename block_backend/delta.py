"""Delta encoding of an object against the object it was edited from.

A delta is a list of *runs* ``(offset, delete_length, inserted_bytes)`` against the
base's raw bytes, offsets ascending and non-overlapping: the common prefix and
suffix are kept, and the middle is matched greedily (8-byte anchors searched
forward in the base), so a tree node with one changed entry gives one or two
runs. The record format (T_DELTA) is in docs/SPEC.md "Flash layout".
"""

import struct

ANCHOR = 8
RUN_HDR = 6


def _prefix(a, b, m):
    p = 0
    while p + 16 <= m and a[p:p + 16] == b[p:p + 16]:
        p += 16
    while p < m and a[p] == b[p]:
        p += 1
    return p


def _suffix(a, b, m):
    la = len(a)
    lb = len(b)
    s = 0
    while s + 16 <= m and a[la - s - 16:la - s] == b[lb - s - 16:lb - s]:
        s += 16
    while s < m and a[la - s - 1] == b[lb - s - 1]:
        s += 1
    return s


def diff(old, new, limit):
    """Return the runs turning ``old`` into ``new``, or None when they would take
    more than ``limit`` bytes encoded (``RUN_HDR`` + inserted bytes per run)."""
    lo = len(old)
    ln = len(new)
    p = _prefix(old, new, min(lo, ln))
    s = _suffix(old, new, min(lo, ln) - p)
    mo = old[p:lo - s]
    mn = new[p:ln - s]
    runs = []
    size = 0
    i = 0
    j = 0
    lit = 0
    no = len(mo)
    nn = len(mn)
    if nn > ANCHOR and no > ANCHOR:
        while j + ANCHOR <= nn:
            k = mo.find(mn[j:j + ANCHOR], i)
            if k < 0:
                j += 1
                if j - lit + RUN_HDR + size > limit:
                    return None
                continue
            n = ANCHOR
            while k + n < no and j + n < nn and mo[k + n] == mn[j + n]:
                n += 1
            if k > i or j > lit:
                runs.append((p + i, k - i, mn[lit:j]))
                size += RUN_HDR + j - lit
            i = k + n
            j += n
            lit = j
    if i < no or lit < nn:
        runs.append((p + i, no - i, mn[lit:]))
        size += RUN_HDR + nn - lit
    if size > limit:
        return None
    return runs


def encode(prefix, base_seq, base_off, depth, new_len, runs):
    """Return a T_DELTA payload (see docs/SPEC.md)."""
    out = [bytes(prefix[:4]), struct.pack("<IHBH", base_seq, base_off, depth, new_len)]
    for off, dlen, ins in runs:
        out.append(struct.pack("<HHH", off, dlen, len(ins)))
        out.append(bytes(ins))
    return b"".join(out)


def parse_head(p):
    """Return ``(prefix, base_seq, base_off, depth, new_len)`` of a T_DELTA payload."""
    seq, off, depth, n = struct.unpack("<IHBH", bytes(p[4:13]))
    return bytes(p[:4]), seq, off, depth, n


def _pieces(p, lb, n):
    """Return what T_DELTA payload ``p`` makes of a base of ``lb`` bytes, as a list of
    ``(from_base, start, length)`` pieces in order (from the base or from ``p``),
    or None when the runs do not fit the base or do not make ``n`` bytes."""
    out = []
    w = 0
    pos = 0
    q = 13
    end = len(p)
    while q < end:
        if q + RUN_HDR > end:
            return None
        off, dlen, ilen = struct.unpack_from("<HHH", p, q)
        q += RUN_HDR
        if off < pos or off + dlen > lb or q + ilen > end:
            return None
        out.append((True, pos, off - pos))
        out.append((False, q, ilen))
        w += off - pos + ilen
        q += ilen
        pos = off + dlen
    out.append((True, pos, lb - pos))
    if w + lb - pos != n:
        return None
    return out


def apply(base, p):
    """Return the object rebuilt from ``base`` and T_DELTA payload ``p`` (a
    ``bytearray`` of exactly the new length, filled in place), or None when the runs
    do not fit the base (a wrong or damaged base)."""
    if len(p) < 13:
        return None
    n = struct.unpack_from("<H", p, 11)[0]
    pieces = _pieces(p, len(base), n)
    if pieces is None:
        return None
    out = bytearray(n)
    mo = memoryview(out)
    mb = memoryview(base)
    mp = memoryview(p)
    w = 0
    for from_base, start, k in pieces:
        mo[w:w + k] = (mb if from_base else mp)[start:start + k]
        w += k
    return out


def rebuilds(base, p, want):
    """Return True when T_DELTA payload ``p`` applied to ``base`` gives exactly
    ``want``, compared piece by piece (nothing of ``want``'s size is allocated)."""
    if len(p) < 13:
        return False
    pieces = _pieces(p, len(base), len(want))
    if pieces is None or struct.unpack_from("<H", p, 11)[0] != len(want):
        return False
    w = 0
    for from_base, start, k in pieces:
        if not _same(base if from_base else p, start, want, w, k):
            return False
        w += k
    return True


def _same(a, i, b, j, n):
    """Return True when ``a[i:i + n] == b[j:j + n]`` (compared 32 bytes at a time)."""
    if j + n > len(b) or i + n > len(a):
        return False
    k = 0
    while k < n:
        m = min(32, n - k)
        if a[i + k:i + k + m] != b[j + k:j + k + m]:
            return False
        k += m
    return True
