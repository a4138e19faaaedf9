"""The block store's memory bound (issue: peak heap <= 32 KiB for get/set/commit at
1,000 and 10,000 keys): the workload of ``make bench BENCH=flash`` runs on the
frozen 32-bit unix port with a 32 KiB heap, on device files filled with 1,000 keys
(64 x 4 KiB blocks) and 10,000 keys (512 x 4 KiB blocks)."""

import os
import subprocess
import sys

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FROZEN = os.path.join(TOP, "build", "bin", "micropython-frozen")
WORKLOADS = os.path.join(TOP, "bench", "workloads")
HEAP = 32 * 1024
SIZES = {1000: 64, 10000: 512}


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """Device files for each size, filled once by flash_populate.py (CPython)."""
    root = tmp_path_factory.mktemp("flash-heap")
    out = {}
    for keys, blocks in SIZES.items():
        path = str(root / ("%d.img" % keys))
        proc = subprocess.run([sys.executable, os.path.join(WORKLOADS, "flash_populate.py"),
                               path, str(keys), str(blocks), "2"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=TOP)
        assert proc.returncode == 0 and proc.stdout.startswith("OK"), proc.stdout
        with open(path, "rb") as f:
            out[keys] = f.read()
    return out


def run_heap(image, keys, heap, tmp_path):
    path = str(tmp_path / "run.img")
    with open(path, "wb") as f:
        f.write(image)
    env = dict(os.environ, MICROPYPATH=".frozen")
    return subprocess.run([FROZEN, "-X", "heapsize=%d" % heap, os.path.join(WORKLOADS, "flash_heap.py"),
                           path, str(keys), str(SIZES[keys])],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=TOP)


@pytest.mark.parametrize("keys", sorted(SIZES))
def test_get_set_commit_in_32k_heap(images, keys, tmp_path):
    assert os.path.isfile(FROZEN), "run `make setup`: %s is missing" % FROZEN
    proc = run_heap(images[keys], keys, HEAP, tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip().splitlines()[-1].startswith("OK"), proc.stdout


def test_the_bound_is_not_vacuous(images, tmp_path):
    proc = run_heap(images[1000], 1000, 16 * 1024, tmp_path)
    assert proc.returncode != 0 and "MemoryError" in proc.stdout, proc.stdout
