"""Workload for the flash group: one-key commits on a counting RamFlash (4 KiB blocks).

Run on the MicroPython unix port (frozen build, big heap):
    micropython-frozen -X heapsize=32m flash_churn.py SYSTEM KEYS COMMITS BLOCKS KEEP

SYSTEM is ``sprig`` (FlashStore, ``keep=KEEP`` commits of history, 0: all) or
``lfs`` (a JSON file on littlefs, ``vfs.VfsLfs2``, rewritten atomically: write
``cfg.tmp`` then rename it over ``cfg.json``). Both start from the same KEYS keys
(``config/keyNNNNN`` = ``"value NNNNN"``), then make COMMITS one-key changes (key
``i * 7919 % KEYS`` gets ``"changed i"``). The device counters are zeroed after the
initial fill, so everything counted belongs to the COMMITS changes: for Sprig every
object record, ref record, block header, summary, footer and compaction copy;
for littlefs the file data, metadata commits and its own compactions.

Prints ``OK {json}``: prog_bytes, erases (totals), per_block (erase count of
each block), compactions (Sprig only).
"""

import json
import sys

from block_backend.devices import RamFlash

BLOCK = 4096
PROG = 16


def key(i):
    return "config/key%05d" % i


def val(i):
    return "value %05d" % i


def sprig(dev, keys, commits, keep):
    from block_backend.flashstore import FlashStore
    from portable_core import retention
    from portable_core.store import Repo

    fs = FlashStore.format(dev, keep=keep or None, retention=retention)
    main = Repo(fs.objects, fs.refs, clock=None).main()
    batch = 100
    for start in range(0, keys, batch):
        def fill(txn, start=start):
            for i in range(start, min(keys, start + batch)):
                txn.set(key(i), val(i))
        main.transaction(fill, message="fill")
    dev.reset_stats()
    c0 = fs.compactions
    for i in range(commits):
        main.set(key(i * 7919 % keys), "changed %d" % i)
    k = (commits - 1) * 7919 % keys
    assert main.get(key(k)) == "changed %d" % (commits - 1)
    return fs.compactions - c0


def lfs(dev, keys, commits):
    import os
    import vfs

    vfs.VfsLfs2.mkfs(dev)
    vfs.mount(vfs.VfsLfs2(dev), "/flash")
    cfg = {}
    for i in range(keys):
        cfg[key(i)] = val(i)

    def save():
        with open("/flash/cfg.tmp", "w") as f:
            f.write(json.dumps(cfg))
        os.rename("/flash/cfg.tmp", "/flash/cfg.json")

    save()
    dev.reset_stats()
    for i in range(commits):
        cfg[key(i * 7919 % keys)] = "changed %d" % i
        save()
    with open("/flash/cfg.json") as f:
        assert json.loads(f.read()) == cfg
    vfs.umount("/flash")
    return None


def main(argv):
    system, keys, commits, blocks, keep = argv[0], int(argv[1]), int(argv[2]), int(argv[3]), int(argv[4])
    dev = RamFlash(BLOCK, blocks, PROG)
    if system == "sprig":
        compactions = sprig(dev, keys, commits, keep)
    elif system == "lfs":
        compactions = lfs(dev, keys, commits)
    else:
        raise ValueError("system: sprig or lfs")
    s = dev.stats()
    per_block = [dev.block_stats(b)["erases"] for b in range(blocks)]
    print("OK " + json.dumps({"prog_bytes": s["prog_bytes"], "erases": s["erases"],
                              "per_block": per_block, "compactions": compactions}))


if __name__ == "__main__":
    main(sys.argv[1:])
