"""Flash benchmark (docs: /work/shared/BENCH.md, group "flash"): bytes programmed and
erases per one-key commit, Sprig FlashStore vs a JSON file rewritten atomically on
littlefs (vfs.VfsLfs2), both on the same counting RamFlash (4 KiB blocks), measured
inside the MicroPython unix port (build/bin/micropython).

Not yet measured: amortized@10000commits, wear_max_over_mean, peak_heap (printed
as errors)."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MP = os.path.join(ROOT, "build", "bin", "micropython")

SCRIPT = r"""
import sys
sys.path.insert(0, %(root)r)
from block_backend.devices import RamFlash
from block_backend.flashstore import FlashStore
from portable_core.store import Repo
N = %(n)d
C = 20
dev = RamFlash(4096, 256, 16)
fs = FlashStore.format(dev, keep=2)
m = Repo(fs.objects, fs.refs, clock=lambda: 1000).main()
m.transaction(lambda t: [t.set("key%%04d" %% i, "value%%d" %% i) for i in range(N)])
dev.reset_stats()
for i in range(C):
    m.set("key%%04d" %% (i * 7 %% N), "new%%d" %% i)
s = dev.stats()
ours = (s["prog_bytes"] / C, s["erases"] / C)
import vfs, json
dev = RamFlash(4096, 256, 16)
vfs.VfsLfs2.mkfs(dev)
fsys = vfs.VfsLfs2(dev)
vfs.mount(fsys, "/flash")
cfg = dict(("key%%04d" %% i, "value%%d" %% i) for i in range(N))
def save():
    with open("/flash/cfg.tmp", "w") as f:
        f.write(json.dumps(cfg))
    import os
    os.rename("/flash/cfg.tmp", "/flash/cfg.json")
save()
dev.reset_stats()
for i in range(C):
    cfg["key%%04d" %% (i * 7 %% N)] = "new%%d" %% i
    save()
s = dev.stats()
print(ours[0], ours[1], s["prog_bytes"] / C, s["erases"] / C)
"""


def line(metric, ours, base):
    return {"bench": "flash", "metric": metric, "ours": ours, "baseline": base,
            "baseline_name": "littlefs+json", "ratio": round(ours / base, 4) if base else None,
            "unit": "B" if "bytes" in metric else "erases"}


def run():
    ok = True
    for n in (20, 200, 1000):
        p = subprocess.run([MP, "-X", "heapsize=32M", "-c", SCRIPT % {"root": ROOT, "n": n}], capture_output=True, text=True)
        if p.returncode:
            for m in ("prog_bytes_per_commit@%dkeys" % n, "erases_per_commit@%dkeys" % n):
                print(json.dumps({"bench": "flash", "metric": m, "error": p.stderr.strip()[-200:]}))
            ok = False
            continue
        a, b, c, d = [float(x) for x in p.stdout.split()]
        print(json.dumps(line("prog_bytes_per_commit@%dkeys" % n, a, c)))
        print(json.dumps(line("erases_per_commit@%dkeys" % n, b, d)))
    for m in ("amortized_prog_bytes_per_commit@10000commits", "wear_max_over_mean@10000commits",
              "peak_heap@1000keys", "peak_heap@10000keys"):
        print(json.dumps({"bench": "flash", "metric": m, "error": "not implemented yet"}))
        ok = False
    return ok


if __name__ == "__main__":
    sys.exit(0 if run() else 1)
