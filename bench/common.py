"""What every benchmark group shares: the JSON line format and the heap bisection.

Output format (../shared/BENCH.md): one JSON object per line on stdout,
``{"bench", "metric", "ours", "baseline", "baseline_name", "ratio", "unit"}``, or
``{"bench", "metric", "error"}`` for a metric that could not be measured.
"""

import json
import os
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MICROPYTHON_FROZEN = os.path.join(TOP, "build", "bin", "micropython-frozen")

failures = []


def emit(bench, metric, ours, baseline=None, baseline_name=None, unit="B"):
    """Print one metric line; ``ratio`` = ours / baseline when there is a baseline."""
    ratio = None
    if baseline:
        ratio = round(ours / baseline, 4)
    line = {"bench": bench, "metric": metric, "ours": ours, "baseline": baseline,
            "baseline_name": baseline_name, "ratio": ratio, "unit": unit}
    print(json.dumps(line), flush=True)


def emit_error(bench, metric, why):
    """Print a metric that could not be measured; the run will exit non-zero."""
    failures.append(metric)
    print(json.dumps({"bench": bench, "metric": metric, "error": why}), flush=True)


def note(text):
    """Chatter for humans: goes to stderr."""
    print(text, file=sys.stderr, flush=True)


def run_frozen(script, args, heap):
    """Run ``script`` on the frozen unix port with ``-X heapsize=heap``; return
    (ok, output). ``ok`` means exit status 0 and a last line starting with OK."""
    env = dict(os.environ, MICROPYPATH=".frozen")
    proc = subprocess.run([MICROPYTHON_FROZEN, "-X", "heapsize=%d" % heap, script] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=TOP)
    out = proc.stdout.decode("utf-8", "replace")
    lines = out.strip().splitlines()
    return proc.returncode == 0 and bool(lines) and lines[-1].startswith("OK"), out


def min_heap(script, args_fn, low=4096, high=4 * 1024 * 1024, step=1024, confirm=4):
    """Return the smallest heap (bytes, to ``step``) at which ``script`` completes,
    by bisection; ``args_fn()`` gives fresh arguments for each run. Near the bound a
    run can pass or fail depending on where large blocks land (fragmentation), so
    the result is also checked at the ``confirm`` steps above it; a failure there
    moves it up past the failing size. Returns None if it fails even at ``high``."""
    ok, out = run_frozen(script, args_fn(), high)
    if not ok:
        note(out[-2000:])
        return None
    while high - low > step:
        mid = (low + high) // 2
        ok, _ = run_frozen(script, args_fn(), mid)
        if ok:
            high = mid
        else:
            low = mid
    found = high  # passed; now ``found + step .. found + confirm * step`` must too
    i = 1
    while i <= confirm:
        ok, _ = run_frozen(script, args_fn(), found + i * step)
        if ok:
            i += 1
        else:
            found = found + i * step
            i = 1
            while not run_frozen(script, args_fn(), found)[0]:
                found += step
    return found
