"""The optional large-value method of an object store (``add_pieces``: see
portable_core/storage.py) for stores that hold objects whole: join the pieces.
The memory and directory stores mix it in."""


class WholeObjectPieces:
    """Mixin: ``add_pieces`` over ``add``."""

    def add_pieces(self, pieces):
        """Store the object whose raw bytes are the concatenation of ``pieces`` (a
        list of bytes-like objects) and return its id, as ``add`` would."""
        out = bytearray()
        for p in pieces:  # a memoryview too (bytes.join takes only bytes on MicroPython)
            out.extend(p)
        return self.add(bytes(out))
