"""The optional large-value methods of an object store (``add_pieces``,
``get_split``: see portable_core/storage.py) for stores that hold objects whole:
join the pieces, copy out of ``get``. The memory and directory stores mix it in."""


class WholeObjectPieces:
    """Mixin: ``add_pieces`` and ``get_split`` over ``add`` and ``get``."""

    def add_pieces(self, pieces):
        """Store the object whose raw bytes are the concatenation of ``pieces`` (a
        list of bytes-like objects) and return its id, as ``add`` would."""
        return self.add(b"".join(pieces))

    def get_split(self, oid, skip):
        """Return ``(first, rest)``: the first ``skip`` raw bytes of object ``oid``
        as ``bytes`` and all the others in one new ``bytearray``; None when absent."""
        raw = self.get(oid)
        if raw is None:
            return None
        return bytes(raw[:skip]), bytearray(memoryview(raw)[skip:])
