"""`make setup` is idempotent: a second run rebuilds nothing."""

import os
import subprocess

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_second_setup_rebuilds_nothing():
    for _ in range(2):
        proc = subprocess.run(["make", "-s", "setup"], cwd=TOP, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        assert proc.returncode == 0, proc.stdout
    # the second run found every product up to date: it built and installed nothing
    assert "building" not in proc.stdout, proc.stdout
    assert "pip install" not in proc.stdout, proc.stdout
    assert "fetch_micropython" not in proc.stdout, proc.stdout
    for product in ("build/bin/micropython", "build/bin/micropython-frozen",
                    "build/bin/mpy-cross", "build/firmware/firmware.elf"):
        assert os.path.isfile(os.path.join(TOP, product)), product


def test_sprig_cli_version_and_help():
    out = subprocess.run(["sprig", "--version"], stdout=subprocess.PIPE, text=True, check=True).stdout
    import portable_core

    assert out.strip() == "sprig " + portable_core.__version__
    out = subprocess.run(["sprig", "--help"], stdout=subprocess.PIPE, text=True, check=True).stdout
    assert "usage: sprig" in out
