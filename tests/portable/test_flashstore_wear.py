"""Wear leveling: a new chip's blocks start equal, and the log cycles through all
of them (dynamic leveling), so erases spread evenly."""

import gc

from block_backend.devices import RamFlash
from block_backend.flashstore import FlashStore
from portable_core import retention
from portable_core.store import Repo

BS = 1024
BC = 16


def test_format_gives_every_new_block_the_same_erase_count():
    dev = RamFlash(BS, BC, 16)
    fs = FlashStore.format(dev, retention=retention)
    assert fs.erase_counts() == [1] * BC, fs.erase_counts()
    # formatting again keeps (and raises) the counts evenly
    fs = FlashStore.format(dev, retention=retention)
    assert fs.erase_counts() == [2] * BC, fs.erase_counts()


def test_erases_spread_over_every_block():
    dev = RamFlash(BS, BC, 16)
    fs = FlashStore.format(dev, keep=2, retention=retention)
    main = Repo(fs.objects, fs.refs, clock=None).main()
    main.set("cfg/name", "board")
    base = [dev.block_stats(b)["erases"] for b in range(BC)]
    for i in range(160):
        main.set("cfg/k%d" % (i % 5), i)
        if i % 16 == 0:
            gc.collect()
    erases = [dev.block_stats(b)["erases"] - base[b] for b in range(BC)]
    mean = sum(erases) / float(BC)
    assert min(erases) > 0, erases  # every block took its turn
    assert max(erases) <= 2 * mean, erases
    assert main.get("cfg/k4") == 159
