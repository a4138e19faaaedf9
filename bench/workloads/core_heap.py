"""Workload for the core heap bound: set/get/commit on a store of 2,000 keys in 20
directories, objects in a directory store (nothing cached in RAM).

Run on the MicroPython unix port with Sprig frozen in:
    micropython-frozen -X heapsize=64k core_heap.py DIR
Prints "OK <live heap bytes>" at the end.

Like the device agent (firmware/sprig_agent.py GC_THRESHOLD), it asks for a
collection every 1 KiB allocated
(``gc.threshold``): garbage goes early, the heap stays compact, and the largest
blocks a commit needs (a node's encoding, ~1 KiB) still find room.
"""

import gc
import sys

from portable_core.dirstore import DirObjectStore, DirRefStore
from portable_core.store import Repo


def main(root, keys=2000, dirs=20):
    gc.threshold(1024)
    repo = Repo(DirObjectStore(root), DirRefStore(root), clock=None)
    main = repo.main()
    per_dir = keys // dirs
    batch = 5
    for d in range(dirs):
        for start in range(0, per_dir, batch):
            def fill(txn, d=d, start=start):
                for k in range(start, min(start + batch, per_dir)):
                    txn.set("d%02d/k%04d" % (d, k), k * 7 + d)
            main.transaction(fill, message="fill d%02d from %d" % (d, start))
            gc.collect()
    for i in range(20):
        path = "d%02d/k%04d" % (i % dirs, (i * 37) % per_dir)
        main.set(path, "changed %d" % i)
        assert main.get(path) == "changed %d" % i
    assert main.get("d19/k0099") == 99 * 7 + 19
    assert len(main.list("d05")) == per_dir
    gc.collect()
    print("OK", gc.mem_alloc())


if __name__ == "__main__":
    main(sys.argv[1])
