"""Workload for ``peak_heap_large_value@64KiB``: on a fresh FlashStore of 4 KiB
blocks kept in a device file, write one 64 KiB value and commit it, then read it
back and check it (sha256). The value is the application's: the heap measured
holds it once, plus what Sprig needs to store and read it (target: at most 32 KiB
more, docs/DESIGN.md "Memory").

Like a device that stores large values should, it imports ``block_backend.chunks``
at start: imported on first use, in the middle of the first large write, its
lasting objects would land beside the value and split the hole the read needs.

Run on the MicroPython unix port with Sprig frozen in:
    micropython-frozen -X heapsize=96k flash_large_value.py PATH BLOCKS [trace]
PATH is an erased device file (0xFF) of BLOCKS x 4096 bytes. Prints "OK <live
heap bytes>" at the end; with ``trace``, the live heap at each step.
"""

import gc
import hashlib
import sys

gc.threshold(1024)

import block_backend.chunks  # noqa: F401 (see below)
from block_backend.flashstore import FlashStore
from flash_heap import FileBlocks
from portable_core import retention
from portable_core.store import Repo

SIZE = 65536


def write(main):
    """Set the value (commit included); return its sha256. The value lives in this
    frame only: on MicroPython a frame's stale stack slots keep what they held."""
    value = bytes(range(256)) * (SIZE // 256)
    main.set("blobs/firmware.bin", value)
    return hashlib.sha256(value).digest()


def read_back(main, want):
    """Read the value back into a fresh buffer; return True when it is the one written."""
    got = main.get("blobs/firmware.bin")
    return len(got) == SIZE and hashlib.sha256(got).digest() == want


def deep(n, fn, arg):
    """Call ``fn(arg)`` ``n`` frames deeper: MicroPython's collector scans the C
    stack conservatively, and a pointer to the value left in ``write``'s frames
    would keep it alive during the read if the read ran as deep (the
    application's frames, not Sprig's memory)."""
    return deep(n - 1, fn, arg) if n else fn(arg)


def main(path, blocks, trace):
    def at(what):
        if trace:
            gc.collect()
            print("heap", what, gc.mem_alloc())

    at("imports")
    dev = FileBlocks(path, 4096, blocks)
    fs = FlashStore.format(dev, retention=retention)
    main = Repo(fs.objects, fs.refs, clock=None).main()
    at("store formatted")
    want = deep(30, write, main)
    at("set+commit")
    gc.collect()
    assert read_back(main, want)
    at("read back")
    dev.close()
    gc.collect()
    print("OK", gc.mem_alloc())


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), len(sys.argv) > 3)
