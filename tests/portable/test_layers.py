"""Layers without run-time patching: a device that opens a store and gets, sets and
commits loads none of the rarely used modules (merges, history, transactions,
watches, snapshots, tree walks/merges/copies, conflict types, compaction, fsck);
each loads on the first call of a method of its concept; and importing the store
plus the flash store stays within the heap measured on the firmware."""

import gc
import sys

from block_backend.devices import RamFlash
from block_backend.flashstore import FlashStore
from portable_core.compat import runtime_name
from portable_core.store import Repo

RARE = (
    "portable_core.merging",
    "portable_core.merge",
    "portable_core.history",
    "portable_core.heads",
    "portable_core.resolve",
    "portable_core.transactions",
    "portable_core.watch",
    "portable_core.snapshot",
    "portable_core.retention",
    "portable_core.tree_walk",
    "portable_core.tree_merge",
    "portable_core.tree_copy",
    "portable_core.observe",
    "portable_core.conflict",
    "portable_core.store_errors",
    "portable_core.cbor_stream",
    "block_backend.compaction",
    "block_backend.fsck",
)

# Measured on the firmware (docs/DESIGN.md "Memory"), fresh at boot: importing
# portable_core.store costs 8,208 bytes, and block_backend.flashstore after it
# 5,152 more: 13,360 in all (less here, where some modules are already loaded).
# The bound for the two is 13.4 KiB (13,721 bytes).
STORE_HEAP_BOUND = 8448  # 8.25 KiB: the core's part, which the layering decides
IMPORT_HEAP_BOUND = 13721  # 13.4 KiB


def _ours(name):
    return name.startswith("portable_core") or name.startswith("block_backend")


def _without(names):
    # take ``names`` out of sys.modules and out of their package (``from pkg import
    # mod`` finds a loaded submodule there first); return what to put back
    saved = {}
    for name in names:
        if name in sys.modules:
            saved[name] = sys.modules.pop(name)
            pkg, _, mod = name.rpartition(".")
            if pkg in sys.modules:
                try:
                    delattr(sys.modules[pkg], mod)
                except AttributeError:
                    pass
    return saved


def _restore(saved):
    for name in list(sys.modules):
        if _ours(name) and name not in saved and name not in _LOADED_BEFORE:
            del sys.modules[name]
    for name in saved:
        sys.modules[name] = saved[name]
        pkg, _, mod = name.rpartition(".")
        if pkg in sys.modules:
            setattr(sys.modules[pkg], mod, saved[name])


_LOADED_BEFORE = [name for name in sys.modules if _ours(name)]


def _device_workload():
    dev = RamFlash(1024, 16, 16)
    FlashStore.format(dev)
    store = FlashStore.open(dev)
    repo = Repo(store.objects, store.refs, author="t", clock=None)
    main = repo.branch("main")
    main.set("net/ssid", "lab")
    main.set(("net", "port"), 8080, message="port")
    assert main.get("net/ssid") == "lab"
    assert main.find("nope", 1) == 1
    main.remove("net/port")
    assert not main.mem("net/port")
    return main


def _loaded(names):
    return [name for name in names if name in sys.modules]


def test_get_set_commit_loads_no_rare_module():
    saved = _without(RARE)
    try:
        main = _device_workload()
        assert main.head() is not None
        loaded = _loaded(RARE)
    finally:
        _restore(saved)
    assert loaded == [], loaded


def test_each_concept_loads_on_first_call():
    from portable_core.store import Branch
    from portable_core.tree import Tree

    classes = (Repo, Branch, Tree)
    before = [sorted(dir(c)) for c in classes]
    saved = _without(RARE)
    try:
        main = _device_workload()
        main.log  # looking a method up loads nothing
        assert _loaded(RARE) == []
        assert [c.id for c in main.log()][0] == main.head()
        after_log = _loaded(RARE)
        main.clone("side")
        heads = _loaded(("portable_core.heads",))
        main.with_tree("net", lambda t: t, strategy="set")
        txn = _loaded(("portable_core.transactions",))
        merging = _loaded(("portable_core.merging",))
    finally:
        _restore(saved)
    # history reads what a path holds (observe) and the MISSING of conflict.py
    assert "portable_core.history" in after_log, after_log
    for name in ("portable_core.heads", "portable_core.transactions", "portable_core.merging"):
        assert name not in after_log, after_log
    assert heads == ["portable_core.heads"]
    assert txn == ["portable_core.transactions"]
    assert merging == []
    # no class got a method on the way
    assert [sorted(dir(c)) for c in classes] == before


def test_importing_store_and_flash_store_heap():
    names = [name for name in sys.modules if _ours(name)]
    saved = _without(names)
    try:
        gc.collect()
        before = gc.mem_alloc() if hasattr(gc, "mem_alloc") else 0
        import portable_core.store  # noqa: F401

        gc.collect()
        core = gc.mem_alloc() - before if hasattr(gc, "mem_alloc") else 0
        import block_backend.flashstore  # noqa: F401

        gc.collect()
        cost = gc.mem_alloc() - before if hasattr(gc, "mem_alloc") else 0
        fresh = sorted(name for name in sys.modules if _ours(name))
    finally:
        _restore(saved)
    # the import brings only the get/set path and the flash store
    for name in RARE:
        assert name not in fresh, name
    assert "portable_core.store" in fresh and "block_backend.flashstore" in fresh
    if runtime_name() not in ("cpython", "micropython-unix"):  # the firmware
        assert 0 < core <= STORE_HEAP_BOUND, core
        assert 0 < cost <= IMPORT_HEAP_BOUND, cost


def test_merge_policy_and_watchers_are_made_on_first_use():
    from portable_core.memstore import MemObjectStore, MemRefStore

    repo = Repo(MemObjectStore(), MemRefStore())
    policy = repo.merge_policy
    assert repo.merge_policy is policy  # made once
    other = policy.__class__()
    repo.merge_policy = other
    assert repo.merge_policy is other
    watchers = repo.watchers
    assert repo.watchers is watchers
