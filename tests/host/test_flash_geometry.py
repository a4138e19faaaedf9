"""FlashStore at the edges of the format's geometry (docs/SPEC.md "Limits"):
64 KiB blocks (the largest: record offsets are u16) fill, seal, compact and
reopen; a bigger block is refused at format and open before anything is
written (it used to crash mid-commit with OverflowError)."""

import pytest

from block_backend.devices import RamFlash
from block_backend.formats import GeometryError
from block_backend.flashstore import FlashStore
from portable_core import retention
from portable_core.store import Repo


def test_64k_blocks_fill_seal_compact_and_reopen():
    dev = RamFlash(65536, 6, 16)
    fs = FlashStore.format(dev, keep=2, retention=retention)
    main = Repo(fs.objects, fs.refs, author="t", clock=None).main()
    top = 0
    for i in range(320):
        main.set("k%d" % (i % 9), ("%04d" % i) * 200)  # 800-byte values (not chunked)
        top = max([top] + list(fs.head_offs))
    main.transaction(lambda t: [t.set("big/k%02d" % i, ("%04d" % i) * 200) for i in range(60)])
    top = max([top] + list(fs.head_offs))  # one 48 KB commit: offsets past 32 KiB
    assert fs.compactions > 0  # blocks were sealed, copied and erased
    assert top > 32768  # record offsets past 15 bits were used
    fs2 = FlashStore.open(dev, retention=retention)
    main2 = Repo(fs2.objects, fs2.refs, author="t", clock=None).main()
    assert main2.head() == main.head()
    assert main2.get("k5") == "0311" * 200 and main2.get("big/k59") == "0059" * 200
    assert fs2.fsck()["clean"]


@pytest.mark.parametrize("size", [65536 * 2, 65536 + 4096])
def test_blocks_over_64k_are_refused_before_anything_is_written(size):
    dev = RamFlash(size, 6, 16)
    with pytest.raises(GeometryError, match="block size %d" % size):
        FlashStore.format(dev, retention=retention)
    with pytest.raises(GeometryError, match="block size %d" % size):
        FlashStore.open(dev, retention=retention)
    assert dev.snapshot() == b"\xff" * (size * 6)
