"""``make demo``: Sprig's story on an emulated device, as far as it exists.

1. Boot the MicroPython firmware (Sprig frozen in) on QEMU's mps2-an385 board.
2. Format a Sprig store on the board's flash and keep its configuration as commits.
3. Branch, change both branches, merge (a counter merges by adding up).
4. Show the history the device keeps.
5. Cut the power while the device commits in a loop (QEMU freezes the CPU at an
   arbitrary instant and saves the flash exactly as it was), reboot from that
   flash image and show that nothing acknowledged was lost.
"""

import os
import re
import sys
import tempfile
import time

from host_tools.emulator import EmulatorError, QemuDevice

FLASH_BYTES = 64 * 4096

SETUP = """
import sprig_agent
from portable_core.container_handles import Counter
repo = sprig_agent.mount(format=True)
main = repo.main()
main.set("net/ssid", "lab-floor-2", message="configure wifi")
main.set("net/channel", 6, message="pick channel 6")
boots = Counter(main, "stats/boots")
boots.inc(message="first boot")
print("main", main.head_commit())
"""

BRANCH_AND_MERGE = """
staging = main.clone("staging")
staging.set("net/channel", 11, message="staging: try channel 11")
Counter(staging, "stats/boots").inc(message="staging boot")
main.set("log/level", "debug", message="more logging")
boots.inc(message="boot")
main.merge_with_branch("staging", message="merge staging")
print("branches", repo.branches())
print("channel", main.get("net/channel"), "boots", boots.read(), "level", main.get("log/level"))
"""

HISTORY = """
from portable_core.objects import to_hex
for c in main.log(depth=6):
    print(to_hex(c.id)[:12], c.height, c.message)
print("last change of net/channel:", len(main.last_modified("net/channel")), "commit(s) found")
"""

COMMIT_LOOP = """
for i in range(1, 10000):
    main.set("stats/uptime", i, message="uptime %d" % i)
    print("ack", i)
"""

AFTER_REBOOT = """
import sprig_agent
repo = sprig_agent.mount()
main = repo.main()
report = repo.flash_store.fsck()
print("fsck clean", report["clean"])
print("uptime", main.get("stats/uptime"))
print("ssid", main.get("net/ssid"), "channel", main.get("net/channel"))
print("commits", len(list(main.log())))
"""


def say(text):
    """Print one line of the demo's narration."""
    print("demo: " + text, flush=True)


def show(output):
    """Print what the device printed, prefixed."""
    for line in output.strip().splitlines():
        print("  device> " + line, flush=True)


def run_story(workdir):
    """Run the demo's steps; return the exit code."""
    image = os.path.join(workdir, "flash.img")
    say("booting MicroPython firmware on QEMU mps2-an385 (Cortex-M3)")
    started = time.monotonic()
    with QemuDevice() as device:
        say("booted in %.2f s" % (time.monotonic() - started))
        show(device.run("import sprig_agent\nsprig_agent.main()"))
        say("formatting a Sprig store on the board's 256 KiB flash; config changes are commits")
        show(device.run(SETUP, timeout=120))
        say("branch 'staging', change both branches, merge: the boot counter adds up")
        show(device.run(BRANCH_AND_MERGE, timeout=120))
        say("history kept on the device (newest first: id, height, message)")
        show(device.run(HISTORY, timeout=120))
        say("the device now commits its uptime in a loop; the power will be cut mid-write")
        device.exec_raw_start(COMMIT_LOOP)
        acked = 0
        while acked < 8:
            line = device.read_until(b"\n", 60).decode("utf-8", "replace")
            m = re.match(r"\s*ack (\d+)", line)
            if m:
                acked = int(m.group(1))
        time.sleep(0.05)  # let it get somewhere into the next commit
        device.save_memory(image, FLASH_BYTES)
        rest = device.drain()  # acks the device sent before its CPU froze
        for m in re.finditer(rb"ack (\d+)", rest):
            acked = max(acked, int(m.group(1)))
        say("power cut: the CPU froze mid-loop after %d acknowledged commits; flash saved to %s"
            % (acked, image))
    say("rebooting the board from the saved flash image")
    with QemuDevice(flash_image=image) as device:
        out = device.run(AFTER_REBOOT, timeout=120)
        show(out)
    m = re.search(r"uptime (\d+)", out)
    uptime = int(m.group(1)) if m else -1
    if "fsck clean True" not in out or uptime < acked:
        say("FAILED: the store lost acknowledged data (uptime %d < %d)" % (uptime, acked))
        return 1
    say("nothing acknowledged was lost: uptime %d >= last acknowledged %d, fsck clean" % (uptime, acked))
    return 0


def main():
    """Run the demo; return the exit code."""
    workdir = tempfile.mkdtemp(prefix="sprig-demo-")
    try:
        return run_story(workdir)
    except EmulatorError as exc:
        print("demo failed: %s" % exc, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
