"""Fill a FileFlash device file with a FlashStore of KEYS keys (flash group, peak heap).

Not measured: it only prepares the device file the heap workload opens. Run with
CPython (FlashStore is portable: the image is the same bytes MicroPython would
write, and CPython writes it several times faster):
    python3 flash_populate.py PATH KEYS BLOCKS KEEP

Keys ``config/keyNNNNN`` = ``"value NNNNN"`` written as one commit (one
transaction), ``keep=KEEP``. The filling store gets miss filters for every block
(``filter_ram``: a host has the RAM, and each new object's existence check is then
fast); the heap workload reopens it with the default. Prints ``OK <used blocks>``.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from block_backend.fileflash import FileFlash  # noqa: E402
from block_backend.flashstore import FlashStore  # noqa: E402
from portable_core import retention  # noqa: E402
from portable_core.store import Repo  # noqa: E402


def main(path, keys, blocks, keep):
    dev = FileFlash(path, 4096, blocks, 16, counters=False)
    fs = FlashStore.format(dev, keep=keep, filter_ram=blocks * 4096 // 128, retention=retention)
    main = Repo(fs.objects, fs.refs, clock=None).main()

    def fill(txn):
        for i in range(keys):
            txn.set("config/key%05d" % i, "value %05d" % i)

    main.transaction(fill, message="fill")
    assert main.get("config/key%05d" % (keys - 1)) == "value %05d" % (keys - 1)
    used = blocks - fs.free_blocks()
    dev.close()
    print("OK", used)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
