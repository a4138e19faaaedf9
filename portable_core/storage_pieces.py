"""The optional large-value method of an object store (``add_pieces``: see
portable_core/storage.py) for stores that hold objects whole: join the pieces.
The memory and directory stores mix it in."""


class WholeObjectPieces:
    """Mixin: ``add_pieces`` over ``add``."""

    def add_pieces(self, pieces):
        """Store the object whose raw bytes are the concatenation of ``pieces`` (a
        list of bytes-like objects) and return its id, as ``add`` would."""
        return self.add(b"".join(pieces))
