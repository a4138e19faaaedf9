"""Workload for the flash peak-heap bound: get/set/commit on a FlashStore of KEYS
keys kept in a device file (the store lives in a file, not in the heap; the file
was filled by flash_populate.py in an earlier run).

The device is ``FileBlocks`` below: MicroPython's block protocol over a file and
nothing else, which is what a board's native flash object (``esp32.Partition``,
``rp2.Flash``) offers, so the heap measured is Sprig's, not an emulator's (the
NOR rules are checked by the tests, on ``FileFlash``/``RamFlash``).

Run on the MicroPython unix port with Sprig frozen in:
    micropython-frozen -X heapsize=32k flash_heap.py PATH KEYS BLOCKS [trace]
Prints "OK <live heap bytes>" at the end; with ``trace``, also the live heap
(``gc.mem_alloc()`` after ``gc.collect()``) at each step, to see where memory goes.

Like the device agent (firmware/sprig_agent.py GC_THRESHOLD), it asks for a
collection every 1 KiB allocated (``gc.threshold``).
"""

import gc
import sys

gc.threshold(1024)

from block_backend.flashstore import FlashStore
from portable_core import retention
from portable_core.store import Repo


class FileBlocks:
    """The block protocol over a device file: readblocks, writeblocks, ioctl."""

    def __init__(self, path, block_size, block_count):
        self.f = open(path, "r+b")
        self.bs = block_size
        self.n = block_count

    def readblocks(self, b, buf, off=0):
        self.f.seek(b * self.bs + off)
        self.f.readinto(buf)

    def writeblocks(self, b, buf, off=0):
        self.f.seek(b * self.bs + off)
        self.f.write(buf)

    def ioctl(self, op, arg):
        if op == 4:
            return self.n
        if op == 5:
            return self.bs
        if op == 6:
            self.f.seek(arg * self.bs)
            ff = b"\xff" * 256
            for _ in range(self.bs // 256):
                self.f.write(ff)
            return 0
        if op == 3 or op == 2:
            self.f.flush()
        return 0

    def close(self):
        self.f.close()


def main(path, keys, blocks, trace):
    def at(what):
        if trace:
            gc.collect()
            print("heap", what, gc.mem_alloc())

    at("imports")
    dev = FileBlocks(path, 4096, blocks)
    at("device")
    fs = FlashStore.open(dev, retention=retention)
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
