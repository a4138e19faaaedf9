"""`make demo` tells the whole story and ends well (it runs the real firmware in QEMU)."""

import subprocess
import sys


def test_demo_runs_end_to_end():
    proc = subprocess.run([sys.executable, "-m", "host_tools.demo"], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout
    out = proc.stdout
    assert "micropython-qemu" in out
    assert "channel 11 boots 3 level debug" in out  # the merge on the device
    assert "fsck clean True" in out
    assert "nothing acknowledged was lost" in out
