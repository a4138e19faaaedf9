"""Flash benchmarks (../shared/BENCH.md, group "flash"): Sprig's FlashStore vs a
JSON config file rewritten atomically on littlefs, on the MicroPython unix port.

Every workload runs inside ``build/bin/micropython-frozen`` (the 32-bit unix port
with portable_core and block_backend frozen in), on the same counting
``block_backend.devices.RamFlash`` (4 KiB blocks, 16-byte program unit) for both
systems; all flash metrics are exact counts taken from the device counters (every
``writeblocks`` byte, every ``ioctl(6)`` erase), not times.

The data (both systems, same inputs): keys ``config/keyNNNNN`` with values
``"value NNNNN"``; a change sets key ``i * 7919 % KEYS`` to ``"changed i"``.
Sprig: ``FlashStore.format(dev, keep=...)``, ``Repo(fs.objects, fs.refs).main()``,
one ``main.set`` (a commit) per change. Baseline ("littlefs+json"):
``vfs.VfsLfs2`` on the device, the whole config ``json.dumps``-ed to ``cfg.tmp``
then renamed over ``cfg.json`` per change. The counters are zeroed after the
initial fill, so only the changes are counted (workload: workloads/flash_churn.py).

- ``prog_bytes_per_commit@{20,200,1000}keys``, ``erases_per_commit@...``: 20
  one-key changes on a 1 MiB device (256 blocks), Sprig with ``keep=2``; total
  bytes programmed (objects, ref record, block headers, summaries, footers:
  everything the device saw) and erases, divided by 20. No compaction falls in
  these 20 commits; the amortized metric below counts it.
- ``amortized_prog_bytes_per_commit@10000commits``: 200 keys on a 256 KiB device
  (64 blocks), 10,000 one-key changes; Sprig keeps ``KEEP_HISTORY`` = 8 commits of
  history, so compaction runs as the log fills (the count is included: every
  copy, header, erase). Total bytes programmed / 10,000; baseline the same
  10,000 changes on littlefs on the same 64-block device.
- ``wear_max_over_mean@10000commits``: after those 10,000 changes, max / mean of
  the per-block erase counters (``RamFlash.block_stats(b)["erases"]``, counted
  from after the fill), for both systems.
- ``peak_heap@{1000,10000}keys``: the smallest ``-X heapsize`` (bisected to 256
  bytes, bench.common.min_heap, then confirmed at the 4 steps above it: near the
  bound a run can pass or fail with where large blocks land) at which
  workloads/flash_heap.py completes: open
  a FlashStore kept in a file (``block_backend.fileflash.FileFlash``, so the
  flash is outside the heap; 1,000 keys on 64 blocks = 256 KiB, 10,000 keys on
  512 blocks = 2 MiB; the store's default ``filter_ram``, so the 64-block store
  has miss filters and the 512-block one reads summaries), then 5 x (get, set =
  commit, get). The device file is filled beforehand by workloads/flash_populate.py
  in a separate run (CPython, not measured: all keys in one commit, ``keep=2``),
  cached in build/bench-cache under a hash of the sources that write it, and
  copied afresh for each bisection run. The heap includes what the frozen
  modules allocate at import (globals, classes, functions). The device is made
  with ``counters=False``, so it costs what a board's native flash object costs
  (a few hundred bytes), not the per-block counters of the emulation.
  ``gc.threshold(1024)`` as the agent.
- ``peak_heap_large_value@64KiB``: the smallest ``-X heapsize`` (bisected to
  1 KiB, confirmed at the 4 steps above) at which workloads/flash_large_value.py
  writes one 64 KiB value on a fresh 64 x 4 KiB-block store (a device file),
  commits it, then reads it back and checks its sha256. Target: the value's size
  + 32 KiB.

The two 10,000-commit workloads run as parallel subprocesses while the other
metrics are measured; the group takes a few minutes.
"""

import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading

from bench.common import TOP, emit, emit_error, min_heap, note, run_frozen

BENCH = "flash"
BASELINE = "littlefs+json"
BIG_HEAP = 64 * 1024 * 1024

PER_COMMIT_KEYS = (20, 200, 1000)
PER_COMMIT_CHANGES = 20
PER_COMMIT_BLOCKS = 256
PER_COMMIT_KEEP = 2

CHURN_KEYS = 200
CHURN_COMMITS = 10000
CHURN_BLOCKS = 64
KEEP_HISTORY = 8

HEAP_SIZES = ((1000, 64), (10000, 512))  # (keys, device blocks: 256 KiB, 2 MiB)
HEAP_KEEP = 2

WORKLOADS = os.path.join(TOP, "bench", "workloads")
CHURN = os.path.join(WORKLOADS, "flash_churn.py")
POPULATE = os.path.join(WORKLOADS, "flash_populate.py")
HEAP = os.path.join(WORKLOADS, "flash_heap.py")
LARGE = os.path.join(WORKLOADS, "flash_large_value.py")
LARGE_SIZE = 65536
LARGE_BLOCKS = 64
CACHE = os.path.join(TOP, "build", "bench-cache")


def churn(system, keys, commits, blocks, keep=0):
    """Run flash_churn.py; return its result dict, or raise RuntimeError with the output."""
    ok, out = run_frozen(CHURN, [system, str(keys), str(commits), str(blocks), str(keep)], BIG_HEAP)
    if not ok:
        raise RuntimeError("%s workload failed: %s" % (system, out.strip()[-300:]))
    return json.loads(out.strip().splitlines()[-1][3:])


class Background:
    """``churn(...)`` in a thread (the subprocess runs in parallel with the caller)."""

    def __init__(self, *args):
        self.result = None
        self.error = None
        self.thread = threading.Thread(target=self._run, args=args)
        self.thread.start()

    def _run(self, *args):
        try:
            self.result = churn(*args)
        except Exception as exc:  # reported as an error line, never a number
            self.error = str(exc)

    def join(self):
        self.thread.join()
        if self.error:
            raise RuntimeError(self.error)
        return self.result


def wear(per_block):
    """max / mean erase count over all blocks."""
    mean = sum(per_block) / len(per_block)
    return round(max(per_block) / mean, 3) if mean else None


def per_commit():
    for keys in PER_COMMIT_KEYS:
        metrics = ("prog_bytes_per_commit@%dkeys" % keys, "erases_per_commit@%dkeys" % keys)
        try:
            ours = churn("sprig", keys, PER_COMMIT_CHANGES, PER_COMMIT_BLOCKS, PER_COMMIT_KEEP)
            base = churn("lfs", keys, PER_COMMIT_CHANGES, PER_COMMIT_BLOCKS)
        except RuntimeError as exc:
            for m in metrics:
                emit_error(BENCH, m, str(exc))
            continue
        n = PER_COMMIT_CHANGES
        emit(BENCH, metrics[0], ours["prog_bytes"] / n, base["prog_bytes"] / n, BASELINE, unit="B")
        emit(BENCH, metrics[1], ours["erases"] / n, base["erases"] / n, BASELINE, unit="erases")


def populated(keys, blocks):
    """Return the path of a device file holding ``keys`` keys (flash_populate.py run
    by CPython), cached in build/bench-cache under a hash of the code that writes it."""
    h = hashlib.sha256(("%d %d %d" % (keys, blocks, HEAP_KEEP)).encode())
    sources = [POPULATE] + sorted(glob.glob(os.path.join(TOP, "block_backend", "*.py"))) \
        + sorted(glob.glob(os.path.join(TOP, "portable_core", "*.py")))
    for path in sources:
        with open(path, "rb") as f:
            h.update(path.encode() + b"\0" + f.read())
    cache = CACHE
    image = os.path.join(cache, "flash-%dkeys-%dblocks-%s.img" % (keys, blocks, h.hexdigest()[:16]))
    if os.path.exists(image):
        note("flash: reusing %s (same code, same parameters)" % os.path.relpath(image, TOP))
        return image
    os.makedirs(cache, exist_ok=True)
    for old in glob.glob(os.path.join(cache, "flash-%dkeys-*.img" % keys)):
        os.remove(old)
    note("flash: populating a FileFlash of %d blocks with %d keys (CPython, not measured)" % (blocks, keys))
    tmp = image + ".tmp"
    if os.path.exists(tmp):
        os.remove(tmp)
    proc = subprocess.run([sys.executable, POPULATE, tmp, str(keys), str(blocks), str(HEAP_KEEP)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=TOP)
    out = proc.stdout.decode("utf-8", "replace").strip()
    if proc.returncode or not out.splitlines() or not out.splitlines()[-1].startswith("OK"):
        raise RuntimeError("populate run failed: %s" % out[-300:])
    os.rename(tmp, image)
    note("flash: populated, %s used blocks" % out.splitlines()[-1][3:])
    return image


def peak_heap(keys, blocks):
    metric = "peak_heap@%dkeys" % keys
    scratch = tempfile.mkdtemp(prefix="sprig-flash-")
    try:
        run_img = os.path.join(scratch, "run.img")
        try:
            image = populated(keys, blocks)
        except RuntimeError as exc:
            emit_error(BENCH, metric, str(exc))
            return

        def fresh():
            shutil.copyfile(image, run_img)
            return [run_img, str(keys), str(blocks)]

        note("flash: bisecting the heap for get/set/commit on %d keys (frozen unix port)" % keys)
        heap = min_heap(HEAP, fresh, high=1024 * 1024, step=256)
        if heap is None:
            emit_error(BENCH, metric, "workload failed even with a 1 MiB heap")
            return
        ok, out = run_frozen(HEAP, fresh() + ["trace"], 1024 * 1024)
        note("flash: live heap (gc.mem_alloc after gc.collect) at each step, %d keys:\n%s"
             % (keys, out.strip()))
        emit(BENCH, metric, heap, unit="B")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def peak_heap_large_value():
    metric = "peak_heap_large_value@%dKiB" % (LARGE_SIZE // 1024)
    scratch = tempfile.mkdtemp(prefix="sprig-flash-")
    try:
        run_img = os.path.join(scratch, "run.img")

        def fresh():
            with open(run_img, "wb") as f:
                f.write(b"\xff" * (LARGE_BLOCKS * 4096))
            return [run_img, str(LARGE_BLOCKS)]

        note("flash: bisecting the heap for one %d-byte value written, committed and read back"
             % LARGE_SIZE)
        heap = min_heap(LARGE, fresh, low=LARGE_SIZE, high=1024 * 1024, step=1024)
        if heap is None:
            emit_error(BENCH, metric, "workload failed even with a 1 MiB heap")
            return
        ok, out = run_frozen(LARGE, fresh() + ["trace"], 1024 * 1024)
        note("flash: live heap at each step of the large-value workload:\n%s" % out.strip())
        emit(BENCH, metric, heap, unit="B")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run():
    """Print the flash group's metrics."""
    note("flash: %d one-key commits on %d keys, %d blocks: Sprig (keep=%d) and littlefs+json "
         "in parallel subprocesses" % (CHURN_COMMITS, CHURN_KEYS, CHURN_BLOCKS, KEEP_HISTORY))
    long_ours = Background("sprig", CHURN_KEYS, CHURN_COMMITS, CHURN_BLOCKS, KEEP_HISTORY)
    long_base = Background("lfs", CHURN_KEYS, CHURN_COMMITS, CHURN_BLOCKS)
    per_commit()
    for keys, blocks in HEAP_SIZES:
        peak_heap(keys, blocks)
    peak_heap_large_value()
    amortized = "amortized_prog_bytes_per_commit@%dcommits" % CHURN_COMMITS
    wear_metric = "wear_max_over_mean@%dcommits" % CHURN_COMMITS
    try:
        ours = long_ours.join()
        base = long_base.join()
    except RuntimeError as exc:
        emit_error(BENCH, amortized, str(exc))
        emit_error(BENCH, wear_metric, str(exc))
        return
    note("flash: Sprig %d compactions, %d erases; littlefs %d erases"
         % (ours["compactions"], ours["erases"], base["erases"]))
    emit(BENCH, amortized, ours["prog_bytes"] / CHURN_COMMITS, base["prog_bytes"] / CHURN_COMMITS,
         BASELINE, unit="B")
    w_ours, w_base = wear(ours["per_block"]), wear(base["per_block"])
    if w_ours is None or w_base is None:
        emit_error(BENCH, wear_metric, "no erases counted (ours %r, baseline %r)" % (w_ours, w_base))
    else:
        emit(BENCH, wear_metric, w_ours, w_base, BASELINE, unit="max/mean")
