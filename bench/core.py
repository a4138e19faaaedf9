"""Core benchmarks: bytes of new objects per one-key change, and peak heap."""

import os
import shutil
import tempfile

from bench.common import emit, emit_error, min_heap, note, TOP
from portable_core import cbor
from portable_core.memstore import MemObjectStore, MemRefStore
from portable_core.store import Repo

BENCH = "core"


class CountingObjects(MemObjectStore):
    """An in-memory object store that counts the bytes of objects it did not have."""

    def __init__(self):
        MemObjectStore.__init__(self)
        self.new_bytes = 0

    def add(self, raw, base=None, base_raw=None):
        oid_known = len(self)
        oid = MemObjectStore.add(self, raw, base)
        if len(self) != oid_known:
            self.new_bytes += len(raw)
        return oid


def new_object_bytes_per_change(keys):
    """Return (bytes of new objects for one one-key commit, flat encoding of the tree)."""
    objects = CountingObjects()
    repo = Repo(objects, MemRefStore(), clock=None)
    main = repo.main()
    config = {}

    def fill(txn):
        for i in range(keys):
            path = "config/key%05d" % i
            txn.set(path, i)
            config[path] = i

    main.transaction(fill)
    samples = []
    for i in range(5):
        objects.new_bytes = 0
        main.set("config/key%05d" % (i * 7919 % keys), "changed %d" % i)
        samples.append(objects.new_bytes)
    samples.sort()
    return samples[len(samples) // 2], len(cbor.encode(config))


def run():
    """Print the core group's metrics."""
    for keys in (100, 1000, 10000):
        ours, flat = new_object_bytes_per_change(keys)
        emit(BENCH, "new_object_bytes_per_change@%dkeys" % keys, ours, flat, "whole tree encoded flat")
    script = os.path.join(TOP, "bench", "workloads", "core_heap.py")
    scratch = tempfile.mkdtemp(prefix="sprig-bench-")

    def fresh_dir():
        path = os.path.join(scratch, "store")
        shutil.rmtree(path, ignore_errors=True)
        os.mkdir(path)
        return [path]

    note("core: bisecting the heap for 2,000 keys in 20 directories (frozen unix port)")
    try:
        heap = min_heap(script, fresh_dir)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if heap is None:
        emit_error(BENCH, "peak_heap@2000keys", "workload failed even with a 4 MiB heap")
    else:
        emit(BENCH, "peak_heap@2000keys", heap, unit="B")
