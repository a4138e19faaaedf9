"""The core's memory bound: set/get/commit on a store of 2,000 keys in 20
directories works on MicroPython with a 64 KiB heap (the frozen 32-bit unix port,
Sprig's code in ROM as on a board)."""

import os
import subprocess

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FROZEN = os.path.join(TOP, "build", "bin", "micropython-frozen")
WORKLOAD = os.path.join(TOP, "bench", "workloads", "core_heap.py")


def run_workload(heap, root):
    env = dict(os.environ, MICROPYPATH=".frozen")
    return subprocess.run([FROZEN, "-X", "heapsize=%d" % heap, WORKLOAD, str(root)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=env, cwd=TOP)


def test_2000_keys_in_20_directories_under_64k_heap(tmp_path):
    assert os.path.isfile(FROZEN), "run `make setup`: %s is missing" % FROZEN
    proc = run_workload(64 * 1024, tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip().splitlines()[-1].startswith("OK"), proc.stdout
    live = int(proc.stdout.split()[-1])
    assert live < 32 * 1024, live  # what stays allocated between operations


def test_workload_really_needs_memory(tmp_path):
    # the bound is not vacuous: far less heap than the code's own objects fails
    proc = run_workload(12 * 1024, tmp_path)
    assert proc.returncode != 0 and "MemoryError" in proc.stdout, proc.stdout
