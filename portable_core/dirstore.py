"""Object and ref stores in a directory, for hosts with a filesystem (CPython, the
MicroPython unix port, boards with a mounted VFS).

Objects are files named by their hex id under a two-digit fan-out directory, as in
Git's loose objects (``objects/ab/cdef...``); refs are files under ``refs/`` holding
a hex id. A new file is written under a temporary name and renamed into place, so a
reader never sees half an object or half a ref. Nothing is cached in RAM: memory use
does not grow with the number of objects. (The crash-safe store for raw flash is
``block_backend``; this one relies on the filesystem's own guarantees.)
"""

import os

from portable_core.objects import from_hex, to_hex
from portable_core.storage import ObjectStore, RefStore, StorageError, object_id
from portable_core.storage_pieces import WholeObjectPieces


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _mkdirs(path):
    parts = path.split("/")
    for i in range(1, len(parts) + 1):
        p = "/".join(parts[:i])
        if p and not _exists(p):
            os.mkdir(p)


def _write_file(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


def _read_file(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


class DirObjectStore(WholeObjectPieces, ObjectStore):
    """Content-addressed objects as files under ``root/objects``."""

    def __init__(self, root):
        self.root = root + "/objects"
        _mkdirs(self.root)

    def _path(self, hexid):
        return "%s/%s/%s" % (self.root, hexid[:2], hexid[2:])

    def add(self, raw, base=None, base_raw=None):
        """Store ``raw``; return its id (the hints are ignored: files hold objects whole)."""
        oid = object_id(raw)
        hexid = to_hex(oid)
        path = self._path(hexid)
        if not _exists(path):
            _mkdirs(self.root + "/" + hexid[:2])
            _write_file(path, raw)
        return oid

    def get(self, oid):
        """Return the raw bytes of ``oid`` (verified against it) or None."""
        raw = _read_file(self._path(to_hex(oid)))
        if raw is not None and object_id(raw) != oid:
            raise StorageError("object %s is corrupt on disk" % to_hex(oid))
        return raw

    def mem(self, oid):
        """Return True when ``oid`` is stored."""
        return _exists(self._path(to_hex(oid)))

    def iterate(self):
        """Yield every stored id."""
        for fan in sorted(os.listdir(self.root)):
            for name in sorted(os.listdir(self.root + "/" + fan)):
                if len(name) == 62 and not name.endswith(".tmp"):
                    yield from_hex(fan + name)


class DirRefStore(RefStore):
    """Refs as files under ``root/refs``; ``test_and_set`` is atomic for one process."""

    def __init__(self, root):
        self.root = root + "/refs"
        _mkdirs(self.root)

    def _path(self, name):
        return self.root + "/" + name

    def get(self, name):
        """Return the id ``name`` points to, or None."""
        text = _read_file(self._path(name))
        return None if text is None else from_hex(text.decode().strip())

    def set(self, name, oid):
        """Point ``name`` at ``oid``."""
        path = self._path(name)
        cut = path.rfind("/")
        _mkdirs(path[:cut])
        _write_file(path, to_hex(oid).encode())

    def test_and_set(self, name, expected, new):
        """Compare-and-swap ``name`` from ``expected`` to ``new`` (None: absent)."""
        if self.get(name) != expected:
            return False
        if new is None:
            self.remove(name)
        else:
            self.set(name, new)
        return True

    def remove(self, name):
        """Remove ``name`` if present."""
        try:
            os.remove(self._path(name))
        except OSError:
            pass

    def list(self):
        """Return the sorted ref names."""
        out = []
        stack = [""]
        while stack:
            prefix = stack.pop()
            base = self.root + ("/" + prefix if prefix else "")
            for name in os.listdir(base):
                full = prefix + "/" + name if prefix else name
                if name.endswith(".tmp"):
                    continue
                try:
                    os.listdir(base + "/" + name)
                    stack.append(full)
                except OSError:
                    out.append(full)
        out.sort()
        return out
