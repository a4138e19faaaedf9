"""Workload for the flash peak-heap bound: get/set/commit on a FlashStore of KEYS
keys kept on a FileFlash device (the store lives in a file, not in the heap; the
file was filled by flash_populate.py in an earlier run).

Run on the MicroPython unix port with Sprig frozen in:
    micropython-frozen -X heapsize=32k flash_heap.py PATH KEYS BLOCKS [trace]
Prints "OK <live heap bytes>" at the end; with ``trace``, also the live heap
(``gc.mem_alloc()`` after ``gc.collect()``) at each step, to see where memory goes.

Like a device agent, it asks for a collection every 4 KiB allocated
(``gc.threshold``).
"""

import gc
import sys

gc.threshold(4096)

from block_backend.fileflash import FileFlash
from block_backend.flashstore import FlashStore
from portable_core.store import Repo


def main(path, keys, blocks, trace):
    def at(what):
        if trace:
            gc.collect()
            print("heap", what, gc.mem_alloc())

    at("imports")
    dev = FileFlash(path, 4096, blocks, 16, counters=False)
    at("device")
    fs = FlashStore.open(dev)
    at("store opened")
    main = Repo(fs.objects, fs.refs, clock=None).main()
    at("repo")
    for i in range(5):
        k = (i * 7919 + 13) % keys
        path_i = "config/key%05d" % k
        assert main.get(path_i) == "value %05d" % k
        at("get %d" % i)
        main.set(path_i, "changed %d" % i)
        at("set+commit %d" % i)
        assert main.get(path_i) == "changed %d" % i
    at("done")
    dev.close()
    gc.collect()
    print("OK", gc.mem_alloc())


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), len(sys.argv) > 4)
