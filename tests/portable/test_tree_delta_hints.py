"""Tree writes tell the object store which stored node each new node was edited
from (ObjectStore.add's ``base``), so a flash backend can store a small delta."""

from portable_core.objects import TAG_NODE
from portable_core.memstore import MemObjectStore
from portable_core.storage import object_id
from portable_core.tree import Tree


class HintRecorder(MemObjectStore):
    def __init__(self):
        MemObjectStore.__init__(self)
        self.hints = []
        self.with_raw = 0

    def add(self, raw, base=None, base_raw=None):
        oid = MemObjectStore.add(self, raw, base)
        if raw[0] == TAG_NODE:
            self.hints.append((oid, base))
            # the bytes given with a hint are the hinted object's
            assert base_raw is None or (base is not None and object_id(base_raw) == base)
            if base_raw is not None:
                self.with_raw += 1
        return oid


def build(store, n):
    t = Tree.empty()
    for i in range(n):
        t = t.add("cfg/k%03d" % i, i)
    return Tree.of_node(store, t.write(store))


def test_new_tree_has_no_hints():
    store = HintRecorder()
    build(store, 40)
    assert store.hints and all(base is None for _, base in store.hints)


def test_one_key_change_names_every_replaced_node():
    store = HintRecorder()
    t = build(store, 40)  # root -> cfg (inner) -> bucket nodes
    before = set(store.iterate())
    store.hints = []
    t2 = t.add("cfg/k123", "changed")
    t2.write(store)
    nodes = [h for h in store.hints if h[0] not in before]
    assert len(nodes) >= 3, nodes
    for oid, base in nodes:
        assert base is not None and base in before and base != oid
    # the bases are the nodes on the old path: the old root among them
    assert t.hash() in [base for _, base in nodes]
    # the edited inner node ("cfg", 40 entries) comes with its old bytes
    assert store.with_raw >= 1


def test_hint_survives_several_edits_before_a_write():
    store = HintRecorder()
    t = build(store, 10)
    store.hints = []
    t2 = t.add("cfg/k001", "a").add("cfg/k002", "b").remove("cfg/k003")
    t2.write(store)
    assert t.hash() in [base for _, base in store.hints]


def test_stores_that_ignore_hints_still_work():
    store = MemObjectStore()
    t = build(store, 50)
    t2 = t.add("cfg/k010", 99)
    root = t2.write(store)
    assert Tree.of_node(store, root).get("cfg/k010") == 99


def test_edited_leaf_comes_with_its_old_bytes():
    # a directory of one flat node: the edited leaf is written with the bytes of
    # the leaf it was edited from
    store = HintRecorder()
    t = build(store, 10)  # root -> cfg (flat, 10 entries)
    store.hints = []
    store.with_raw = 0
    t.add("cfg/k004", "changed").remove("cfg/k007").add("cfg/k100", 1).write(store)
    assert store.with_raw == 2  # cfg's leaf and the root


def test_flat_node_without_base_has_no_bytes():
    store = HintRecorder()
    build(store, 3)
    assert store.with_raw == 0
