"""Tree nodes: flat/inner format, canonical splitting, bounded rewrites, lazy loading."""

import gc

from portable_core.node import (
    MAX_ENTRIES,
    MAX_FLAT_NODE_BYTES,
    MAX_INNER_NODE_BYTES,
    bucket,
)
from portable_core.objects import TAG_NODE, decode_object
from portable_core.memstore import MemObjectStore
from portable_core.storage import object_id
from portable_core.tree import Tree, TreeError


class CountingStore(MemObjectStore):
    """A MemObjectStore counting reads and bytes added."""

    def __init__(self):
        MemObjectStore.__init__(self)
        self.gets = 0
        self.added = 0

    def get(self, oid):
        self.gets += 1
        return MemObjectStore.get(self, oid)

    def add(self, raw, base=None, base_raw=None):
        if not self.mem(object_id(raw)):
            self.added += len(raw)
        return MemObjectStore.add(self, raw, base)


def body_of(store, oid):
    tag, body = decode_object(store.get(oid))
    assert tag == TAG_NODE
    return body


def build(names, value=1):
    # collect often: live entries then stay packed at the bottom of the firmware's
    # heap instead of being scattered between garbage (fragmentation)
    t = Tree.empty()
    i = 0
    for n in names:
        t = t.add((n,), value)
        i += 1
        if i % 8 == 0:
            gc.collect()
    return t


def keys(n, prefix="k"):
    return [prefix + str(i) for i in range(n)]


def test_bucket_function():
    # bits 5*depth.. of sha256(name): checked against a slow big-integer reference
    import hashlib

    for name in ("a", "k17", "\u00e9t\u00e9", "x" * 40):
        h = hashlib.sha256(name.encode("utf-8")).digest()
        bits = "".join(("0000000" + bin(b)[2:])[-8:] for b in h)
        for depth in (0, 1, 2, 7, 49, 50):
            want = int(bits[5 * depth : 5 * depth + 5], 2)
            assert bucket(name, depth) == want, (name, depth)
    assert bucket("a", 0) == 0xCA >> 3  # sha256("a") starts ca978112...


def test_flat_node_format():
    s = MemObjectStore()
    t = build(["b", "a"]).add("c/d", "x")
    oid = t.write(s)
    body = body_of(s, oid)
    assert body[0] == 0
    assert [e[0] for e in body[1]] == ["a", "b", "c"]
    assert [e[1] for e in body[1]] == [0, 0, 1]
    assert all(len(e[2]) == 32 for e in body[1])
    assert body[1][2][2] == t.find_tree("c").hash()


def test_split_200_keys():
    s = MemObjectStore()
    oid = build(keys(200)).write(s)
    gc.collect()
    body = body_of(s, oid)
    assert body[0] == 1 and body[1] == 0 and body[2] == 200, body[:3]
    children = body[3]
    assert [c[0] for c in children] == sorted(set(c[0] for c in children))
    total = 0
    for i, child in children:
        cb = body_of(s, child)
        assert cb[0] == 0  # 200 keys: every bucket fits in a flat node here
        for e in cb[1]:
            assert bucket(e[0], 0) == i
        total += len(cb[1])
    assert total == 200
    gc.collect()
    r = Tree.of_node(s, oid)
    assert r.find("k123") == 1
    listed = r.list()
    assert len(listed) == 200
    prev = ""
    for name, kind in listed:  # sorted, all contents (no new big list on the device)
        assert name > prev and kind == "contents"
        prev = name
    listed = None
    for raw_id in s.iterate():
        raw = s.get(raw_id)
        if raw[0] == TAG_NODE:
            assert len(raw) <= MAX_FLAT_NODE_BYTES


def test_collapse_to_flat_same_hash():
    names = keys(40)
    t = build(names)
    for n in names[MAX_ENTRIES:]:
        t = t.remove((n,))
    small = build(names[:MAX_ENTRIES])
    assert t.hash() == small.hash()
    s = MemObjectStore()
    assert body_of(s, t.write(s))[0] == 0
    # and across a store: reopen, remove, compare
    big = Tree.of_node(s, build(names).write(s))
    for n in names[MAX_ENTRIES - 1 :]:
        big = big.remove((n,))
    assert big.hash() == build(names[: MAX_ENTRIES - 1]).hash()
    assert big.list() == [(n, "contents") for n in sorted(names[: MAX_ENTRIES - 1])]


def test_order_independent_with_splits():
    names = keys(90)
    t1 = build(names)
    t2 = build(list(reversed(names)))
    t3 = build(names[::2])
    for n in names[1::2]:
        t3 = t3.add((n,), 2)
    for n in names[1::2]:
        t3 = t3.add((n,), 1)
    assert t1.hash() == t2.hash() == t3.hash()
    t4 = t1.add("zz", 0).remove("zz")
    assert t4.hash() == t1.hash()


def same_bucket_names(count, depth0_bucket):
    out = []
    i = 0
    while len(out) < count:
        n = "n" + str(i)
        if bucket(n, 0) == depth0_bucket:
            out.append(n)
        i += 1
    return out


def test_two_levels_of_splitting():
    # 40 names all in bucket 7 at depth 0: inner(0) -> inner(1) -> flat nodes
    names = same_bucket_names(40, 7) + ["other" + str(i) for i in range(3)]
    s = MemObjectStore()
    t = build(names)
    oid = t.write(s)
    root = body_of(s, oid)
    assert root[0] == 1 and root[1] == 0 and root[2] == 43
    big = [c for c in root[3] if c[0] == 7]
    assert len(big) == 1
    inner = body_of(s, big[0][1])
    assert inner[0] == 1 and inner[1] == 1 and inner[2] == 40, inner[:3]
    for i, child in inner[3]:
        for e in body_of(s, child)[1]:
            assert bucket(e[0], 1) == i
    r = Tree.of_node(s, oid)
    for n in names:
        assert r.find((n,)) == 1
    assert build(list(reversed(names))).hash() == oid
    # removing back below the bound collapses both levels
    r2 = r
    for n in names[:12]:
        r2 = r2.remove((n,))
    assert r2.hash() == build(names[12:]).hash()
    assert body_of(s, r2.write(s))[0] == 0


def test_one_key_change_writes_few_small_nodes():
    s = CountingStore()
    names = keys(300)
    oid = build(names).write(s)
    gc.collect()
    r = Tree.of_node(s, oid).add("k150", 2)
    before = s.added
    oid2 = r.write(s)
    assert r.last_write_bytes == s.added - before
    # contents + one flat leaf + the root inner node
    assert r.last_write_objects == 3, r.last_write_objects
    assert r.last_write_bytes < 2 * MAX_INNER_NODE_BYTES, r.last_write_bytes
    assert Tree.of_node(s, oid2).find("k150") == 2
    # adding a new key: same bound
    r3 = Tree.of_node(s, oid2).add("new", 5)
    r3.write(s)
    assert r3.last_write_objects == 3
    assert r3.last_write_bytes < 2 * MAX_INNER_NODE_BYTES


def test_bytes_per_change_flat_in_key_count():
    sizes = []
    for n in (30, 100, 300):
        s = MemObjectStore()
        oid = build(keys(n)).write(s)
        t = Tree.of_node(s, oid).add("k7", 99)
        t.write(s)
        sizes.append(t.last_write_bytes)
        s = None
        gc.collect()
    # one flat node at 30 keys; one inner node + one small leaf from 100 keys on
    assert max(sizes) < 2 * MAX_INNER_NODE_BYTES, sizes
    assert sizes[2] < 2 * sizes[0], sizes


def test_find_reads_only_the_path():
    s = CountingStore()
    t = Tree.empty()
    for i in range(250):
        t = t.add(("d", "k" + str(i)), i % 10)
        if i % 8 == 0:
            gc.collect()
    t = t.add("e/f/g", "deep")
    oid = t.write(s)
    t = None
    gc.collect()
    r = Tree.of_node(s, oid)
    assert s.gets == 0  # opening reads nothing
    assert r.find("d/k77") == 7
    # root, d's inner node, d's leaf, the contents
    assert s.gets == 4, s.gets
    s.gets = 0
    assert r.find("e/f/g") == "deep"
    assert s.gets == 4, s.gets  # root, e, f, contents
    s.gets = 0
    assert r.kind("d/k5") == "contents" and s.gets == 3
    s.gets = 0
    r2 = r.add("d/k9", -1)
    assert s.gets == 3, s.gets  # the spine only: root, d, one leaf
    s.gets = 0
    r2.hash()
    assert s.gets == 0  # hashing needs no store
    r2.write(s)
    assert s.gets == 0
    assert r2.last_write_objects == 4  # contents, d's leaf, d's inner node, root
    s.gets = 0
    assert r2.find("d/k9") == -1 and r2.find("d/k10") == 0
    assert s.gets <= 2  # the spine is in RAM: the other leaf + contents


def test_corrupt_nodes_are_reported():
    s = MemObjectStore()
    from portable_core.objects import encode_object

    z = b"\x00" * 32
    bad = [
        [0, [["b", 0, z], ["a", 0, z]]],  # unsorted
        [0, [["a", 2, z]]],  # bad kind
        [0, [["a/b", 0, z]]],  # bad name
        [0, [["a", 0, b"short"]]],
        [1, 0, 5, [[0, z]]],  # inner node with too few entries
        [1, 3, 40, [[0, z]]],  # wrong depth
        [1, 0, 40, [[32, z]]],  # bucket out of range
        [1, 0, 40, []],
        [0, [["k" + str(i), 0, z] for i in range(MAX_ENTRIES + 1)]],
        "not a node",
    ]
    for body in bad:
        oid = s.add(encode_object(TAG_NODE, body))
        try:
            Tree.of_node(s, oid).find("a")
        except TreeError as exc:
            assert "malformed" in str(exc), (body, str(exc))
        else:
            raise AssertionError("accepted %r" % (body,))


def test_loaded_flat_node_reads_entries_from_its_bytes():
    from portable_core.node import Flat, encode_node, entry_at, load, name_at
    from portable_core.node_edit import delete, insert

    s = MemObjectStore()
    t = Tree.empty()
    for i in range(20):
        t = t.add(("n%02d" % i,), i)
    t = t.add(("sub", "x"), "y")
    root = t.write(s)
    node = load(s, root)
    assert isinstance(node, Flat) and node.raw == s.get(root)
    assert all(type(item) is int for item in node.items)  # nothing decoded
    assert name_at(node, 3) == "n03" and entry_at(node, 20)[:2] == ("sub", 1)
    assert [e[0] for e in node.entries] == ["n%02d" % i for i in range(20)] + ["sub"]
    assert encode_node(node) == node.raw
    # edits keep the other entries as offsets into the same bytes
    new, added = insert(s, node, ("n05a", 0, b"\x01" * 32))
    assert added and new.raw is node.raw and new._base == root
    assert sum(1 for item in new.items if type(item) is not int) == 1
    new2, removed = delete(s, new, "n10")
    assert removed and len(new2.items) == 21
    assert [e[0] for e in new2.entries] == sorted(e[0] for e in new2.entries)
    # same bytes as a node built from decoded entries
    assert encode_node(new2) == encode_node(Flat(new2.entries))
    # a loaded leaf that overflows splits into nodes sharing its bytes
    big = node
    for i in range(12):
        big = insert(s, big, ("z%02d" % i, 0, b"\x02" * 32))[0]
    assert len(big.slots) == MAX_ENTRIES
    names = Tree(s, big).list()
    assert len(names) == 33 and names[0] == ("n00", "contents")


def test_write_with_release_drops_the_written_spine():
    s = CountingStore()
    t = build(keys(100))
    root = Tree.of_node(s, t.write(s))
    t2 = root.add("k5", "new").add(("d", "x"), 1)
    oid = t2.hash()
    assert t2.write(s, True) == oid
    node = t2._root
    # the root's in-memory children were replaced by their ids
    assert all(slot is None or isinstance(slot, (bytes, int)) for slot in node.slots)
    assert t2.hash() == oid and t2.get("k5") == "new" and t2.get("d/x") == 1
    assert t2.get("k6") == 1


def test_the_node_parser_names_non_canonical_bytes():
    # one parser (node.parse_node) for loads and copies: exactly the canonical bytes
    from portable_core.node import encode_node, load, parse_node
    from portable_core.objects import TAG_CONTENTS, encode_object, to_hex

    s = MemObjectStore()
    t = Tree.empty().add("a", 1).add("b", 2)
    root = t.write(s)
    raw = s.get(root)
    assert parse_node(raw).entries == load(s, root).entries
    assert encode_node(parse_node(raw)) == raw
    kind_at = raw.index(b"\x61a") + 2  # the kind after the name "a"
    cases = [
        raw + b"\x00",  # a byte after the node
        raw[:kind_at] + b"\x18\x00" + raw[kind_at + 1 :],  # kind 0 in two bytes
        raw[:-1],  # cut short
        encode_object(TAG_CONTENTS, [0, []]),
    ]
    for bad in cases:
        oid = s.add(bad)
        try:
            load(s, oid)
        except TreeError as exc:
            text = str(exc)
            assert ("malformed" in text or "contents object" in text) and to_hex(oid) in text, text
        else:
            raise AssertionError("accepted %r" % (bad,))

