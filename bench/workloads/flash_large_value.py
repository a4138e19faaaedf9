"""Workload for ``peak_heap_large_value@64KiB``: on a fresh FlashStore of 4 KiB
blocks kept in a device file, write one 64 KiB value and commit it, then read it
back and check it (sha256). The value is the application's: the heap measured
holds it once, plus what Sprig needs to store and read it (target: at most 32 KiB
more, docs/DESIGN.md "Memory").

It does what a device handling a large value (a firmware image) should: one
buffer of the value's size, allocated at start (no later hole of that size is
needed), filled, written with ``set(path, memoryview(buf))`` (a memoryview is
not copied by the core), then cleared and refilled from the store with
``Branch.read_into`` (streamed from the chunks, verified on the way). Like such a
device it imports ``block_backend.chunks`` and ``portable_core.read_into`` at
start.

Run on the MicroPython unix port with Sprig frozen in:
    micropython-frozen -X heapsize=96k flash_large_value.py PATH BLOCKS [trace]
PATH is an erased device file (0xFF) of BLOCKS x 4096 bytes. Prints "OK <live
heap bytes>" at the end; with ``trace``, the live heap at each step.
"""

import gc
import hashlib
import sys

gc.threshold(1024)

import block_backend.chunks  # noqa: F401 (see above)
from block_backend.flashstore import FlashStore
from flash_heap import FileBlocks
from portable_core import retention
from portable_core.store import Repo

SIZE = 65536


def fill(buf):
    """Fill ``buf`` with the value (period 256: no chunk boundary is aligned); return
    its sha256."""
    for i in range(SIZE):
        buf[i] = i & 255
    return hashlib.sha256(buf).digest()


def read_back(main, buf, want):
    """Clear ``buf``, read the value back into it; return True when it is the one written."""
    for i in range(SIZE):
        buf[i] = 0
    n = main.read_into("blobs/firmware.bin", buf)
    return n == SIZE and hashlib.sha256(buf).digest() == want


def main(path, blocks, trace):
    def at(what):
        if trace:
            gc.collect()
            print("heap", what, gc.mem_alloc())

    buf = bytearray(SIZE)
    at("imports, buffer")
    dev = FileBlocks(path, 4096, blocks)
    fs = FlashStore.format(dev, retention=retention)
    main = Repo(fs.objects, fs.refs, clock=None).main()
    at("store formatted")
    want = fill(buf)
    main.set("blobs/firmware.bin", memoryview(buf))
    at("set+commit")
    gc.collect()
    assert read_back(main, buf, want)
    at("read back")
    dev.close()
    gc.collect()
    print("OK", gc.mem_alloc())


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), len(sys.argv) > 3)
