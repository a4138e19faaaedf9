"""Power cuts on the emulated board: QEMU freezes the CPU at an arbitrary instant
while the device commits, saves the flash as it was, and the board reboots from it.
Every acknowledged commit must be there, and fsck must be clean."""

import os
import re

from host_tools.emulator import QemuDevice

FLASH_BYTES = 32 * 4096

SETUP = """
import sprig_agent
dev = sprig_agent.flash(block_count=32, erase=True)
repo = sprig_agent.mount(format=True, device=dev, keep=4)
main = repo.main()
main.set("cfg/name", "board-7")
print("ready")
"""

LOOP = """
dev2 = repo.branch("dev")
for i in range(1, 100000):
    main.set("cfg/counter", i)
    if i % 3 == 0:
        dev2.set("cfg/dev", i)
    if i % 7 == 0:
        main.merge_with_branch("dev")
    print("ack", i)
"""

CHECK = """
import sprig_agent
dev = sprig_agent.flash(block_count=32)
repo = sprig_agent.mount(device=dev)
print("clean", repo.flash_store.fsck()["clean"])
main = repo.main()
print("counter", main.find("cfg/counter", 0))
print("name", main.get("cfg/name"))
main.set("cfg/after", 1)
print("writable", main.get("cfg/after"))
"""


def cut_after(image, acks, settle):
    """Run the commit loop, cut the power ``settle`` seconds after ``acks``
    acknowledgements; return the last acknowledged counter."""
    with QemuDevice() as device:
        assert "ready" in device.run(SETUP, timeout=120)
        device.exec_raw_start(LOOP)
        acked = 0
        while acked < acks:
            line = device.read_until(b"\n", 120).decode()
            m = re.match(r"\s*ack (\d+)", line)
            if m:
                acked = int(m.group(1))
            assert "Traceback" not in line, line + device.drain().decode()
        if settle:
            import time

            time.sleep(settle)
        device.save_memory(image, FLASH_BYTES)
        for m in re.finditer(rb"ack (\d+)", device.drain()):
            acked = max(acked, int(m.group(1)))
    return acked


def test_power_cuts_at_arbitrary_instants_lose_nothing_acknowledged(tmp_path):
    # several cuts at different moments, some after compactions (keep=4, 128 KiB)
    for n, (acks, settle) in enumerate([(3, 0.0), (10, 0.013), (25, 0.031), (40, 0.007)]):
        image = str(tmp_path / ("flash%d.img" % n))
        acked = cut_after(image, acks, settle)
        assert os.path.getsize(image) == FLASH_BYTES
        with QemuDevice(flash_image=image) as device:
            out = device.run(CHECK, timeout=120)
        assert "clean True" in out, out
        counter = int(re.search(r"counter (\d+)", out).group(1))
        assert counter >= acked, (counter, acked, out)
        assert counter <= acked + 1, (counter, acked, out)  # at most the one being written
        assert "name board-7" in out and "writable 1" in out, out
