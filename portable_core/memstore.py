"""The in-memory object and ref stores (tests, host-side scratch stores): a module of
its own so that a device on flash never loads their classes."""

from portable_core.storage import ObjectStore, RefStore, object_id
from portable_core.storage_pieces import WholeObjectPieces


class MemObjectStore(WholeObjectPieces, ObjectStore):
    """Objects kept in a dict in RAM (tests, host-side scratch stores)."""

    def __init__(self):
        self._objects = {}

    def add(self, raw, base=None, base_raw=None):
        """Store ``raw`` and return its id (the hints are ignored: RAM holds objects whole)."""
        raw = bytes(raw)
        oid = object_id(raw)
        if oid not in self._objects:
            self._objects[oid] = raw
        return oid

    def get(self, oid):
        """Return the raw bytes of ``oid`` or None."""
        return self._objects.get(bytes(oid))

    def mem(self, oid):
        """Return True when ``oid`` is stored."""
        return bytes(oid) in self._objects

    def iterate(self):
        """Yield every stored id."""
        for oid in list(self._objects):
            yield oid

    def __len__(self):
        return len(self._objects)


class MemRefStore(RefStore):
    """Refs kept in a dict in RAM; every method is atomic because nothing yields."""

    def __init__(self):
        self._refs = {}

    def get(self, name):
        """Return the id ``name`` points to, or None."""
        return self._refs.get(name)

    def set(self, name, oid):
        """Point ``name`` at ``oid``."""
        self._refs[name] = bytes(oid)

    def test_and_set(self, name, expected, new):
        """Compare-and-swap ``name`` from ``expected`` to ``new`` (None: absent)."""
        if self._refs.get(name) != (None if expected is None else bytes(expected)):
            return False
        if new is None:
            self._refs.pop(name, None)
        else:
            self._refs[name] = bytes(new)
        return True

    def remove(self, name):
        """Remove ``name`` if present."""
        self._refs.pop(name, None)

    def list(self):
        """Return the sorted ref names."""
        return sorted(self._refs)
