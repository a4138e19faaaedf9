"""Sprig's device agent, frozen into the MicroPython firmware.

At the device console: ``import sprig_agent; sprig_agent.main()`` prints the banner;
``repo = sprig_agent.mount()`` opens (or, with ``format=True``, creates) the Sprig
store on the board's flash and returns a ``portable_core.store.Repo`` on it.

The emulated board's flash is its PSRAM (``block_backend.psramflash``), which QEMU
loads from and saves to an image file, so the store survives reboots and power cuts.
"""

import gc

import portable_core
from portable_core import compat

FLASH_BLOCK_SIZE = 4096
FLASH_BLOCK_COUNT = 64  # 256 KiB

# Collect every 1 KiB allocated: tree work makes short-lived objects, and an early
# collection keeps the heap compact, so the largest blocks a commit needs (a node's
# bytes, ~1.2 KiB) still find room in a 32 KiB heap (docs/DESIGN.md, "Memory";
# bench/workloads/*_heap.py use the same threshold).
GC_THRESHOLD = 1024


def banner():
    """Return the one-line greeting the agent prints at start: version, runtime, heap."""
    heap = compat.free_heap()
    return "sprig %s on %s, free heap %s bytes" % (
        portable_core.__version__,
        compat.runtime_name(),
        "unknown" if heap is None else heap,
    )


def flash(block_size=FLASH_BLOCK_SIZE, block_count=FLASH_BLOCK_COUNT, erase=False):
    """Return the board's flash as a block device (the PSRAM on the QEMU board)."""
    from block_backend.psramflash import PsramFlash

    return PsramFlash(block_size=block_size, block_count=block_count, erase=erase)


def mount(format=False, keep=None, author="device", device=None):
    """Open the store on the board's flash and return a Repo on it.

    ``format=True`` erases the flash and creates an empty store; ``keep`` is the
    number of commits per branch that compaction keeps (None: all). The device has
    no clock: commit dates are a logical counter.
    """
    from block_backend.flashstore import FlashStore
    from portable_core import retention
    from portable_core.store import Repo

    if hasattr(gc, "threshold"):
        gc.threshold(GC_THRESHOLD)
    if device is None:
        device = flash(erase=format)
    fs = FlashStore.format(device, keep, retention=retention) if format else FlashStore.open(device, retention=retention)
    repo = Repo(fs.objects, fs.refs, author=author, clock=None)
    repo.flash_store = fs
    return repo


def main():
    """Run the agent: print the banner."""
    print(banner())
