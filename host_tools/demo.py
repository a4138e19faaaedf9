"""``make demo``: Sprig's story on an emulated device, as far as it exists.

Boots the MicroPython firmware (Sprig frozen in) on QEMU's mps2-an385 board, starts
the device agent at the console, shows what it prints, and shuts the board down.
"""

import sys
import time

from host_tools.emulator import EmulatorError, QemuDevice


def say(text):
    """Print one line of the demo's narration."""
    print("demo: " + text, flush=True)


def main():
    """Run the demo; return the exit code."""
    say("booting MicroPython firmware on QEMU mps2-an385 (Cortex-M3)")
    started = time.monotonic()
    try:
        with QemuDevice() as device:
            say("booted in %.2f s" % (time.monotonic() - started))
            out = device.run("import sprig_agent\nsprig_agent.main()")
            for line in out.strip().splitlines():
                print("device> " + line)
            say("shutting the board down")
        say("QEMU exited with status %s" % device.proc.returncode)
    except EmulatorError as exc:
        print("demo failed: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
