"""Host only: a FileFlash image is the board's flash image, both ways.

A host ``FileFlash`` file is loaded into the QEMU board's PSRAM at boot, read and
changed there through ``PsramFlash``, saved back with QEMU's ``pmemsave`` and
reopened as a ``FileFlash``: the raw image format is the same everywhere.
"""

import os

from block_backend.fileflash import FileFlash
from host_tools import emulator

BS = 512
BC = 16
PS = 16


def test_fileflash_image_round_trips_through_qemu_psram(tmp_path):
    path = str(tmp_path / "flash.img")
    dev = FileFlash(path, BS, BC, PS)
    dev.writeblocks(1, b"host" * 8, 32)
    dev.erase(2)
    dev.writeblocks(2, bytes(range(256)), 256)
    dev.close()
    with emulator.QemuDevice(flash_image=path) as board:
        out = board.run(
            "from block_backend.psramflash import PsramFlash\n"
            "d = PsramFlash(0x21000000, %d, %d, %d)\n"
            "b = bytearray(32)\n"
            "d.readblocks(1, b, 32)\n"
            "print(bytes(b))\n"
            "c = bytearray(256)\n"
            "d.readblocks(2, c, 256)\n"
            "print(bytes(c) == bytes(range(256)))\n"
            "d.writeblocks(1, b'qemu' * 4, 64)\n"
            "d.erase(3)\n"
            "d.writeblocks(3, b'\\x00' * 16, %d)\n" % (BS, BC, PS, BS - 16)
        )
        assert out.split() == [repr(b"host" * 8), "True"], out
        saved = str(tmp_path / "saved.img")
        board.save_memory(saved, BS * BC)
    assert os.path.getsize(saved) == BS * BC
    dev = FileFlash(saved, BS, BC, PS)
    try:
        buf = bytearray(48)
        dev.readblocks(1, buf, 32)
        assert bytes(buf) == b"host" * 8 + b"qemu" * 4
        buf = bytearray(BS)
        dev.readblocks(3, buf, 0)
        assert bytes(buf) == b"\xff" * (BS - 16) + b"\x00" * 16
    finally:
        dev.close()
