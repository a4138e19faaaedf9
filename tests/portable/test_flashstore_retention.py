"""Retention is shallow history: a device store with keep=2, three branches whose
names sort both before and after "main", commits and merges across dozens of
compactions. At every step: log (and its edge), last_modified, lcas and merges (a
counter merged with the wrong common ancestor would count twice) work on what is
kept; every third step a slice export of the whole kept history too, every tenth
fsck; the kept set does not depend on the branch names.
Portable (small RamFlash devices)."""

import gc

from block_backend.devices import RamFlash
from block_backend.flashstore import FlashStore
from portable_core import history, retention
from portable_core.merge import MergePolicy, counter
from portable_core.snapshot import export_slice, import_slice
from portable_core.memstore import MemObjectStore, MemRefStore
from portable_core.store import Repo
from portable_support import ticking_clock

BS = 1024
BC = 24
PAD = "x" * 48  # bigger values: more compactions per step
PS = 16


def reader(parts):
    """``read(n)`` over a slice written as ``parts`` (no contiguous copy of it)."""
    state = [0, 0]

    def read(n):
        out = b""
        while len(out) < n and state[0] < len(parts):
            part = parts[state[0]]
            take = part[state[1]:state[1] + n - len(out)]
            out += take
            state[1] += len(take)
            if state[1] >= len(part):
                state[0] += 1
                state[1] = 0
        return out

    return read


class Device:
    """The workload: branches ``names[0]`` (the trunk) and two sides; step ``i``
    increments the shared counter on one branch and records ``own/<branch>``; every
    few steps the trunk merges a side and the side merges the trunk back, and the
    sides merge each other. The model: per branch, the set of steps it has seen."""

    def __init__(self, dev, names, fresh=True, keep=2):
        self.names = names
        self.dev = dev
        self.fs = None
        self.seen = {}
        self.wrote = {}  # branch -> the commit that last set own/<branch> there
        self.acked = {}  # branch -> head
        self.edges = 0
        self.compactions = 0
        self.open(fresh, keep)

    def open(self, fresh=False, keep=2):
        if self.fs is not None:
            self.compactions += self.fs.compactions
        self.fs = None
        gc.collect()
        if fresh:
            self.fs = FlashStore.format(self.dev, keep=keep, retention=retention)
        else:
            self.fs = FlashStore.open(self.dev, retention=retention)
        self.repo = Repo(self.fs.objects, self.fs.refs, author="t", clock=ticking_clock(1000),
                         merge_policy=MergePolicy({"count": counter}))

    def b(self, name):
        return self.repo.branch(name)

    def start(self):
        trunk = self.names[0]
        self.acked[trunk] = self.b(trunk).set("count", 0)
        self.seen[trunk] = set()
        for name in self.names[1:]:
            self.acked[name] = self.b(trunk).clone(name).head()
            self.seen[name] = set()

    def merge(self, into, other):
        head = self.b(into).merge_with_branch(other, message="merge")
        self.acked[into] = head
        self.seen[into] = self.seen[into] | self.seen[other]

    def step(self, i):
        names = self.names
        name = names[i % 3]
        br = self.b(name)
        key = "own/%d" % (i % 3)  # not the name: the same commits under other names
        br.transaction(lambda t: (t.set("count", t.get("count") + 1), t.set(key, [i, PAD])),
                       message="step %d" % i)
        self.acked[name] = self.wrote[name] = br.head()
        self.seen[name] = self.seen[name] | {i}
        if i % 5 == 4:
            side = names[1 + (i // 5) % 2]
            self.merge(names[0], side)
            self.merge(side, names[0])
        if i % 7 == 6:
            self.merge(names[1], names[2])

    def check(self, i, export=True, fsck=True):
        """Everything a user does with history works on what is kept."""
        objects = self.fs.objects
        for slot, name in enumerate(self.names):
            br = self.b(name)
            key = "own/%d" % slot
            head = br.head()
            assert head == self.acked[name], (i, name)
            seen = self.seen[name]
            assert br.get("count") == len(seen), (i, name, br.get("count"), len(seen))
            mine = [s for s in seen if self.names[s % 3] == name]
            if mine:
                assert br.get(key)[0] == max(mine)
            if name != self.names[i % 3]:
                continue  # the rest for the branch that moved
            log = br.log()
            ids = [c.id for c in log]
            assert ids[0] == head
            for oid in log.edge:
                assert oid in ids and objects.mem(history.find_commit(objects, oid).tree)
            self.edges += len(log.edge)
            assert history.boundary(objects, [head]) == sorted(log.edge)
            if name in self.wrote and self.wrote[name] == head:
                assert br.last_modified(key) == [head]
                assert br.last_modified(key, depth=0) == [head]
            if export:
                parts = []
                export_slice(objects, [head], parts.append)
                mem = MemObjectStore()
                assert import_slice(mem, reader(parts))[0] == [head]
                copy = Repo(mem, MemRefStore())
                copy.branch(name).set_head(head)
                assert copy.branch(name).get("count") == len(seen)
                assert [c.id for c in copy.branch(name).log()] == ids
                parts = mem = copy = None
        trunk = self.b(self.names[0]).head()
        for name in self.names[1:]:
            found = history.lcas(objects, trunk, self.b(name).head())
            assert found, (i, name)  # the heads' common history is kept
            for oid in found:
                assert history.is_ancestor(objects, oid, trunk)
        if fsck:
            rep = self.fs.fsck()
            assert rep["clean"], rep


_DEVICE = []  # one device for every run (the firmware's heap: no second 24 KiB)


def device():
    if not _DEVICE:
        _DEVICE.append(RamFlash(BS, BC, PS))
    return _DEVICE[0]


def run(names, steps, export=True, check=True):
    gc.collect()
    d = Device(device(), names)
    d.start()
    for i in range(steps):
        d.step(i)
        if i % 3 == 2:
            d.fs.compact()  # besides the automatic ones
        if check:
            d.check(i, export and i % 3 == 0, i % 10 == 0)
        if i % 25 == 24:
            d.open()  # reopen: the same history
            d.check(i)
    return d


def test_keep_2_history_merges_and_slices_across_compactions():
    d = run(["main", "alpha", "zeta"], 78)
    assert d.compactions + d.fs.compactions >= 24, d.compactions
    assert d.edges > 0  # history was cut, and said so


def test_retention_does_not_depend_on_branch_names():
    # the same histories under names sorting the other way: the same commits kept
    kept = []
    for names in (["main", "alpha", "zeta"], ["main", "zeta", "alpha"]):
        d = run(names, 30, False, False)
        d.fs.compact()
        objects = d.fs.objects
        heads = [d.b(n).head() for n in names]
        hist = []
        edge = []
        for c in history.walk(objects, heads, None, edge):
            hist.append(c.id)
        assert edge  # history was cut
        kept.append((heads, sorted(hist)))
        d = objects = None  # ``objects`` holds the store and its device
        gc.collect()
    # the trunk's head is the same commit (the same values and parents), so is
    # what compaction kept
    assert kept[0][0][0] == kept[1][0][0]
    assert kept[0][1] == kept[1][1]
