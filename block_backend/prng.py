"""A tiny seeded PRNG (xorshift32) giving the same numbers on every runtime.

``random`` is not on every MicroPython port and differs from CPython's where it
is, so fault injection and tests draw from this instead.
"""

from portable_core.compat import const

_MASK32 = const(0xFFFFFFFF)


class XorShift:
    """Marsaglia's xorshift32: ``XorShift(seed)``; ``next32()``, ``below(n)``, ``bytes(n)``."""

    def __init__(self, seed=1):
        self.state = (seed & _MASK32) or 0x9E3779B9

    def next32(self):
        """Return the next 32-bit unsigned number."""
        x = self.state
        x ^= (x << 13) & _MASK32
        x ^= x >> 17
        x ^= (x << 5) & _MASK32
        self.state = x
        return x

    def below(self, n):
        """Return a number in ``0..n-1`` (``n`` > 0; slight modulo bias is fine here)."""
        return self.next32() % n

    def bytes(self, n):
        """Return ``n`` pseudo-random bytes."""
        out = bytearray(n)
        for i in range(n):
            out[i] = self.next32() & 0xFF
        return bytes(out)
