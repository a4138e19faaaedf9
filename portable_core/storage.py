"""The two storage interfaces every Sprig backend implements, and their in-memory versions.

An *object store* maps an object id (32 raw bytes: the SHA-256 of the object's raw
bytes) to the object's raw bytes (a one-byte type tag followed by canonical CBOR; see
docs/SPEC.md). Objects are immutable: adding the same bytes twice is a no-op.

A *ref store* maps a ref name (a ``str`` such as ``"heads/main"``) to an object id.
``test_and_set`` is the single atomic primitive the store relies on: every head
update goes through it, so two writers racing on one branch never lose a commit.

Large values travel without a second copy. An object store may have the
optional method ``add_pieces(pieces)``: store the object whose raw bytes are the
concatenation of ``pieces`` (bytes-like; the core passes a large byte string's
tag and CBOR head, then the value itself) and return its id, as ``add`` would
(without it the core joins the pieces and calls ``add``). ``get`` may return a
new ``bytearray`` that the caller owns: the core then cuts a large byte string's
head off it in place and returns that buffer as the value. The flash store does
both through its chunks; the memory and directory stores join
(``storage_pieces.py``). ``add_pieces`` is not a method of ``ObjectStore``: a
device would pay its RAM through every store class. Another optional method,
``read_into(oid, buf, skip)``, copies an object's raw bytes from offset
``skip`` on into the caller's writable ``buf`` (nothing when ``buf`` is shorter
than the rest) and returns ``(its first skip raw bytes, its size)``, None when
absent: the flash store streams a chunked object into ``buf`` (``Tree.read_into``
uses it; without it the core reads the value with ``get`` and copies it).

Backends: ``MemObjectStore`` / ``MemRefStore`` (portable_core.memstore); the block
device store in ``block_backend`` implements the same methods.
"""

ID_SIZE = 32


class StorageError(Exception):
    """A backend could not do what was asked (device full, corrupt data, ...)."""


class ObjectStore:
    """Interface: content-addressed, immutable objects. Subclasses override every method."""

    def add(self, raw, base=None, base_raw=None):
        """Store ``raw`` (bytes) and return its id (``sha256(raw)``, 32 bytes).

        ``base``, when given, is the id of a stored object that ``raw`` was edited
        from (a tree node's previous version): a hint that lets a backend keep
        ``raw`` as a small delta against it. ``base_raw``, when given, is that
        object's bytes, which the caller still holds (a backend need not read them
        again; it checks them against ``base``). Backends may ignore both.
        """
        raise NotImplementedError

    def get(self, oid):
        """Return the raw bytes of object ``oid``, or None when it is absent.

        A backend that finds the stored bytes do not hash to ``oid`` raises
        ``StorageError``: corrupt data is reported, never returned.
        """
        raise NotImplementedError

    def mem(self, oid):
        """Return True when object ``oid`` is stored."""
        raise NotImplementedError

    def iterate(self):
        """Yield the id of every stored object, each once, in no particular order."""
        raise NotImplementedError


class RefStore:
    """Interface: named pointers to object ids, updated atomically one at a time."""

    def get(self, name):
        """Return the id ``name`` points to, or None."""
        raise NotImplementedError

    def set(self, name, oid):
        """Point ``name`` at ``oid`` unconditionally."""
        raise NotImplementedError

    def test_and_set(self, name, expected, new):
        """Atomically: if ``name`` points to ``expected`` (None: absent), point it at
        ``new`` (None: remove it) and return True; otherwise change nothing and
        return False."""
        raise NotImplementedError

    def remove(self, name):
        """Remove ``name``; removing an absent name is a no-op."""
        raise NotImplementedError

    def list(self):
        """Return the sorted list of every ref name."""
        raise NotImplementedError


def object_id(raw):
    """Return the id of the raw object bytes ``raw``: their SHA-256 digest (32 bytes)."""
    import hashlib

    return hashlib.sha256(raw).digest()

