"""``Branch.read_into`` / ``Tree.read_into``: a byte-string value copied into a
buffer the application supplies, streamed from the flash store's chunks (each
chunk's CRC and the object's sha256 checked), and ``set(path, memoryview(buf))``
writing from that buffer without a copy. Portable: on the firmware the device is
in the board's PSRAM (its 140 KiB heap also holds this module)."""

import gc
import hashlib

from block_backend.devices import RamFlash
from block_backend.flashstore import FlashStore
from block_backend.psramflash import PSRAM_BASE, PsramFlash, psram_available
from block_backend.records import OK, T_CHUNK, crc32, scan_records
from portable_core import retention
from portable_core.read_into import BufferTooSmall, NotBytes
from portable_core.storage import StorageError
from portable_core.tree import Tree
from portable_support import new_repo, raises, repo_on

# 12 chunks of 1 KiB, the last one partial (6 on the firmware, whose heap is
# crowded by the compiled test module)
SIZE = 6000 if psram_available() else 12000
PATH = "blobs/image.bin"


def device():
    """A 4 KiB-block device of 24 blocks: in PSRAM on the firmware."""
    if psram_available():
        return PsramFlash(PSRAM_BASE + 0x80000, 4096, 24, 16, erase=True)
    return RamFlash(4096, 24, 16)


def filled(n=SIZE, seed=7):
    """A bytearray of ``n`` bytes: period 251 (no chunk boundary is aligned)."""
    buf = bytearray(n)
    for i in range(n):
        buf[i] = (i + seed) % 251
    return buf


def flash_main(dev=None):
    """Return ``(device, main branch)`` of a store on ``dev`` (formatted when None)."""
    gc.collect()
    if dev is None:
        dev = device()
        return dev, repo_on(FlashStore.format(dev, retention=retention)).main()
    return dev, repo_on(FlashStore.open(dev, retention=retention)).main()


def digest(b):
    return hashlib.sha256(b).digest()


def chunk_at(dev, k):
    """Return ``(block, offset)`` of the ``k``-th chunk record found in the log."""
    fs = FlashStore.open(dev, retention=retention)
    for b in fs._log_order():
        buf = fs._read(b, 0, fs.B)
        for pos, t, ln, st in scan_records(buf, fs.data_start, fs._region_end(b, buf), fs.P):
            if st == OK and t == T_CHUNK:
                if k == 0:
                    return b, pos
                k -= 1
    raise AssertionError("no such chunk")


def test_a_value_written_from_a_buffer_is_read_back_into_it():
    dev, main = flash_main()
    buf = filled()
    want = digest(buf)
    main.set(PATH, memoryview(buf))  # held, not copied, until set returns
    main.set("blobs/version", 3)
    for i in range(SIZE):
        buf[i] = 0
    assert main.read_into(PATH, buf) == SIZE
    assert digest(buf) == want
    # a longer buffer: the value at its start, the rest untouched
    buf = None
    gc.collect()
    big = bytearray(b"\xee" * (SIZE + 10))
    assert main.read_into(PATH, big) == SIZE
    assert digest(memoryview(big)[:SIZE]) == want and big[SIZE:] == b"\xee" * 10
    # a memoryview of part of a buffer is filled like a buffer
    for i in range(SIZE + 10):
        big[i] = 0
    assert main.read_into(PATH, memoryview(big)[10:]) == SIZE
    assert digest(memoryview(big)[10:]) == want and big[:10] == bytes(10)
    # reopened: the same bytes, and get agrees
    big = None
    dev, main = flash_main(dev)
    out = bytearray(SIZE)
    assert main.read_into(PATH, out) == SIZE and digest(out) == want
    assert main.tree().read_into(PATH, out) == SIZE and digest(out) == want
    out = None
    gc.collect()
    assert digest(main.get(PATH)) == want


def test_the_buffer_may_change_after_set_returns():
    dev, main = flash_main()
    buf = filled()
    want = digest(buf)
    main.set(PATH, memoryview(buf))
    buf[0] ^= 0xFF  # the application reuses its buffer
    buf[0] ^= 0xFF
    buf[1] ^= 0xFF
    assert main.read_into(PATH, buf) == SIZE
    assert digest(buf) == want


def test_small_values_and_text_are_read_into_a_buffer():
    dev, main = flash_main()
    main.set("a", b"xyz")
    main.set("e", b"")
    main.set("t", "héllo")
    main.set("m", bytes(range(200)))
    main.set("long", "ab" * 3000)  # text over a chunk: encoded whole, stored in chunks
    out = bytearray(8000)
    assert main.read_into("a", out) == 3 and out[:3] == b"xyz"
    assert main.read_into("e", out) == 0
    assert main.read_into("t", out) == 6 and out[:6] == "héllo".encode()
    assert main.read_into("m", out) == 200 and out[:200] == bytes(range(200))
    assert main.read_into("long", out) == 6000 and out[:6000] == b"ab" * 3000


def test_a_buffer_too_small_raises_and_is_left_untouched():
    dev, main = flash_main()
    main.set(PATH, memoryview(filled()))
    main.set("a", b"12345")
    out = bytearray(b"\x11" * (SIZE - 1))
    exc = raises(BufferTooSmall, main.read_into, PATH, out)
    assert exc.needed == SIZE and isinstance(exc, ValueError)
    assert out == b"\x11" * (SIZE - 1)
    small = bytearray(4)
    assert raises(BufferTooSmall, main.read_into, "a", small).needed == 5
    assert small == bytes(4)


def test_what_is_not_a_byte_string_or_not_there_is_named():
    dev, main = flash_main()
    main.set("n", 5)
    main.set("d/x", {"k": 1})
    out = bytearray(64)
    exc = raises(NotBytes, main.read_into, "n", out)
    assert isinstance(exc, TypeError) and "n" in str(exc) and "int" in str(exc)
    raises(NotBytes, main.read_into, "d/x", out)
    raises(KeyError, main.read_into, "d", out)  # a subtree
    raises(KeyError, main.read_into, "nothing", out)
    raises(KeyError, main.read_into, "", out)
    raises(ValueError, main.read_into, "a//b", out)
    raises(TypeError, main.read_into, "n", b"immutable")
    raises(TypeError, main.read_into, "n", None)


def test_a_damaged_chunk_is_detected_by_its_crc():
    dev, main = flash_main()
    buf = filled()
    main.set(PATH, memoryview(buf))
    b, pos = chunk_at(dev, 5)
    addr = b * 4096 + pos + 4 + 100
    cell = dev.read_raw(addr, 1)
    cell[0] ^= 0x10
    dev.write_raw(addr, cell)
    dev, main = flash_main(dev)
    raises(StorageError, main.read_into, PATH, bytearray(SIZE))
    raises(StorageError, main.get, PATH)


def test_a_chunk_with_a_valid_crc_but_other_bytes_fails_the_sha256():
    dev, main = flash_main()
    main.set(PATH, memoryview(filled()))
    b, pos = chunk_at(dev, 2)
    n = dev.read_raw(b * 4096 + pos + 1, 2)
    n = n[0] | n[1] << 8
    rec = dev.read_raw(b * 4096 + pos, n + 8)
    rec[4 + 7] ^= 0x01  # another byte, and a CRC that matches it
    c = crc32(memoryview(rec)[:4 + n])
    rec[4 + n:] = bytes((c & 0xFF, c >> 8 & 0xFF, c >> 16 & 0xFF, c >> 24 & 0xFF))
    dev.write_raw(b * 4096 + pos, rec)
    dev, main = flash_main(dev)
    raises(StorageError, main.read_into, PATH, bytearray(SIZE))
    assert main.find("other", 1) == 1  # the store stays usable
    main.set("other", 2)
    assert main.get("other") == 2


def test_the_in_memory_store_and_unwritten_trees_copy_the_value():
    main = new_repo().main()
    buf = filled(5000)
    want = bytes(buf)
    main.set(PATH, memoryview(buf))
    main.set("t", "text")
    buf[0] ^= 1
    out = bytearray(6000)
    assert main.read_into(PATH, out) == 5000 and out[:5000] == want
    assert main.get(PATH) == want
    assert main.read_into("t", out) == 4 and out[:4] == b"text"
    raises(BufferTooSmall, main.read_into, PATH, bytearray(10))
    # a tree not written yet holds the memoryview: get hands back bytes
    t = Tree.empty().add("v", memoryview(buf)).add("w", 7)
    got = t.get("v")
    assert type(got) is bytes and got == bytes(buf)
    assert t.read_into("v", out) == 5000 and out[:5000] == bytes(buf)
    raises(NotBytes, t.read_into, "w", out)
