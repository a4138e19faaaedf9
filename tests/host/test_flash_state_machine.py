"""A Repo on a FlashStore against a model (CPython, hypothesis state machine).

The store: a FlashStore on a RamFlash of 16 blocks of 4 KiB, ``keep=1``, reopened
at random. The model: per branch, its head commit id and a dict path -> value, and
per commit id its parents and contents (so merges, fast-forwards and their
common ancestors are predicted from the model's own history).

Rules: random valid operations (set, nested set, remove, clear, test_and_set,
clone, remove_branch, merges with and without concurrent edits, fast-forward,
values larger than a block, compaction, reopen, filling the device then freeing
it) mixed with invalid ones (bad paths, unsupported values and commit info,
values larger than the device, unknown branches and commit ids, bad branch
names). An invalid operation must raise a documented error (``StoreError``,
``StorageError``, ``ValueError``, ``TypeError`` or their subclasses,
``CommitNotFound`` or ``MergeConflictError``) and leave every ref as it was. After every step the store
matches the model, takes a valid write (recorded in the model) and fsck is clean.
"""

import os

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from block_backend.devices import RamFlash
from block_backend.errors import DeviceFull
from block_backend.flashstore import FlashStore
from portable_core import retention
from portable_core.commit import CommitNotFound
from portable_core.conflict import MISSING, MergeConflictError, is_conflict
from portable_core.merge import default, values_equal
from portable_core.storage import StorageError
from portable_core.store import Repo
from portable_core.store_errors import FastForwardError, StoreError, TestFailed

BS = 4096
BC = 16
KEEP = 1  # one commit a branch: compaction cuts history as often as it can
DOCUMENTED = (StoreError, StorageError, ValueError, TypeError, CommitNotFound, MergeConflictError)

NAMES = ["main", "dev", "a.b", "feat/x", "zz"]  # names in both orders; "probe" is the invariant's
SEGS = ["a", "b", "c"]
names = st.sampled_from(NAMES)
picks = st.integers(0, 63)  # an existing branch: the pick-th of them, round robin
paths = st.lists(st.sampled_from(SEGS), min_size=1, max_size=3).map("/".join)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 63, 2 ** 63 - 1),
                    st.floats(allow_nan=False), st.text(max_size=6), st.binary(max_size=8))
small_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=6)
# bigger than a block (4 KiB): stored in chunks; three of them, shared between branches
big_values = st.integers(0, 2).map(lambda i: bytes([65 + i]) * 5120)
values = st.one_of(small_values, small_values, small_values, big_values)
bad_paths = st.sampled_from(["/", "a//b", "a/", "/a", "a/./b", "a/../b", "x" * 256, "a\x00b",
                             5, None, 3.5, b"a", ("a", ""), ["a", 5]])
bad_values = st.sampled_from([{1, 2}, object(), 1j, [{3}], {"k": object()}, {(1, 2): 1},
                              Exception("x"), range(3)])
bad_info = st.sampled_from([{"message": 5}, {"message": b"m"}, {"author": 7},
                            {"author": ["a"]}, {"message": 1.5}])
bad_branch_names = st.sampled_from(["", "a b", "a..b", ".x", "x.lock", "x/", "é", 5, None])

# which documented classes each kind of invalid operation raised (see the report at
# the end of a run with SPRIG_SM_REPORT=1)
SEEN = {}


def ticking_clock():
    state = [1000]

    def clock():
        state[0] += 1
        return state[0]

    return clock


# -- the model's contents: dict path -> value; trees as nested dicts for merges ----------


def model_set(state, path, value):
    out = {}
    for k in state:
        if not (k == path or k.startswith(path + "/") or path.startswith(k + "/")):
            out[k] = state[k]
    out[path] = value
    return out


def model_remove(state, path):
    if path == "":
        return {}
    return dict((k, v) for k, v in state.items() if not (k == path or k.startswith(path + "/")))


def model_find(state, path):
    return state.get(path, MISSING)


def states_equal(x, y):
    if sorted(x) != sorted(y):
        return False
    return all(values_equal(x[k], y[k]) for k in x)


class Leaf:
    def __init__(self, value):
        self.value = value


def nest(state):
    root = {}
    for path, v in state.items():
        segs = path.split("/")
        d = root
        for s in segs[:-1]:
            d = d.setdefault(s, {})
        d[segs[-1]] = Leaf(v)
    return root


def flatten(tree, prefix=""):
    out = {}
    for name, e in tree.items():
        p = prefix + "/" + name if prefix else name
        if isinstance(e, Leaf):
            out[p] = e.value
        else:
            out.update(flatten(e, p))
    return out


def entries_equal(x, y):
    if x is MISSING or y is MISSING:
        return x is y
    if isinstance(x, Leaf) or isinstance(y, Leaf):
        return isinstance(x, Leaf) and isinstance(y, Leaf) and values_equal(x.value, y.value)
    return states_equal(flatten(x), flatten(y))


class Conflicted(Exception):
    pass


def merge_dirs(o, a, b):
    """The store's tree merge (docs/DESIGN.md "Merges") on nested dicts."""
    if entries_equal(b, o):
        return a
    if entries_equal(a, o):
        return b
    out = dict(a)
    for name in sorted(set(o) | set(b)):
        eo, ea, eb = o.get(name, MISSING), a.get(name, MISSING), b.get(name, MISSING)
        if entries_equal(eo, eb):
            continue  # changed in a only (or not at all)
        if entries_equal(eo, ea):
            r = eb
        elif not isinstance(ea, dict) and not isinstance(eb, dict):
            vo = eo.value if isinstance(eo, Leaf) else MISSING
            v = default(vo, MISSING if ea is MISSING else ea.value, MISSING if eb is MISSING else eb.value)
            if is_conflict(v):
                raise Conflicted(name)
            r = MISSING if v is MISSING else Leaf(v)
        elif not isinstance(ea, Leaf) and not isinstance(eb, Leaf):
            r = merge_dirs(eo if isinstance(eo, dict) else {}, {} if ea is MISSING else ea,
                           {} if eb is MISSING else eb)
            if not r:
                r = MISSING
        else:
            raise Conflicted(name)
        if r is MISSING:
            out.pop(name, None)
        else:
            out[name] = r
    return out


class FlashRepoMachine(RuleBasedStateMachine):
    """Repo on a FlashStore vs the model."""

    @initialize()
    def start(self):
        self.dev = RamFlash(block_size=BS, block_count=BC, prog_size=16)
        self.clock = ticking_clock()
        self.fs = FlashStore.format(self.dev, keep=KEEP, retention=retention)
        self.repo = Repo(self.fs.objects, self.fs.refs, author="t", clock=self.clock)
        self.heads = {}  # branch -> commit id
        self.commits = {}  # commit id -> (parents, state)
        self.probes = 0

    # -- model helpers ---------------------------------------------------------------

    def state(self, name):
        head = self.heads.get(name)
        return {} if head is None else self.commits[head][1]

    def existing(self, pick, fallback=None):
        """The ``pick``-th existing branch (round robin), or ``fallback`` when none."""
        have = [n for n in NAMES if n in self.heads]
        return have[pick % len(have)] if have else fallback

    def refs(self):
        return dict((r, self.repo.refs.get(r)) for r in self.repo.refs.list())

    def write(self, name, do, new_state):
        """Run the store write ``do()`` (it returns the head id) expected to turn
        ``name``'s contents into ``new_state``; record the commit it made."""
        old = self.heads.get(name)
        head = do()
        if states_equal(new_state, self.state(name)) and (old is not None or not new_state):
            # a write that changes nothing makes no commit (and creates no branch)
            assert head == old, (name, "a write that changes nothing made a commit")
            assert self.repo.branch(name).head() == old
            return head
        assert head != old and head not in self.commits, "a new commit was expected"
        self.commits[head] = ([] if old is None else [old], new_state)
        self.heads[name] = head
        return head

    def refused(self, kind, fn, *args, **kwargs):
        """``fn`` must raise a documented error and change no ref."""
        before = self.refs()
        try:
            fn(*args, **kwargs)
        except DOCUMENTED as exc:
            SEEN.setdefault(kind, set()).add(type(exc).__name__)
            assert self.refs() == before, (kind, "a refused operation moved a ref")
            return exc
        except Exception as exc:  # noqa: BLE001 (the test reports the class)
            raise AssertionError("%s raised an undocumented %s: %s" % (kind, type(exc).__name__, exc))
        raise AssertionError("%s was accepted" % kind)

    def ancestors(self, cid):
        seen = set()
        stack = [cid]
        while stack:
            c = stack.pop()
            if c not in seen:
                seen.add(c)
                stack.extend(self.commits[c][0])
        return seen

    def lcas(self, a, b):
        common = self.ancestors(a) & self.ancestors(b)
        out = []
        for c in common:
            if not any(c != d and c in self.ancestors(d) for d in common):
                out.append(c)
        return sorted(out)

    def merge_base(self, ids, depth=0):
        if not ids:
            return {}
        base = nest(self.commits[ids[0]][1])
        for other in ids[1:]:
            inner = self.merge_base(self.lcas(ids[0], other), depth + 1)
            base = merge_dirs(inner, base, nest(self.commits[other][1]))
        return base

    def expected_merge(self, head, cid):
        """("ff", cid) | ("same", head) | ("merge", state) | ("conflict", None)."""
        if head is None or head in self.ancestors(cid):
            return ("ff", cid)
        if cid in self.ancestors(head):
            return ("same", head)
        try:
            base = self.merge_base(self.lcas(head, cid))
            merged = merge_dirs(base, nest(self.commits[head][1]), nest(self.commits[cid][1]))
        except Conflicted:
            return ("conflict", None)
        return ("merge", flatten(merged))

    def do_merge(self, name, cid):
        kind, what = self.expected_merge(self.heads.get(name), cid)
        branch = self.repo.branch(name)
        if kind == "conflict":
            self.refused("conflicting merge", branch.merge_with_commit, cid)
            return
        new = branch.merge_with_commit(cid)
        if kind in ("ff", "same"):
            assert new == what, (kind, "merge did not give the expected head")
            self.heads[name] = what
            return
        old = self.heads[name]
        assert new not in self.commits
        self.commits[new] = (sorted([old, cid]), what)
        self.heads[name] = new

    # -- valid operations ---------------------------------------------------------------

    @rule(name=names, path=paths, value=values)
    def set(self, name, path, value):
        self.write(name, lambda: self.repo.branch(name).set(path, value),
                   model_set(self.state(name), path, value))

    @rule(name=names, path=paths, value=small_values)
    def set_nested(self, name, path, value):
        path = path + "/d/e"
        self.write(name, lambda: self.repo.branch(name).set(path, value),
                   model_set(self.state(name), path, value))

    @rule(name=st.one_of(picks, names), path=paths)
    def remove(self, name, path):
        name = self.existing(name, "main") if isinstance(name, int) else name
        self.write(name, lambda: self.repo.branch(name).remove(path),
                   model_remove(self.state(name), path))

    @rule(name=names)
    def clear(self, name):
        self.write(name, lambda: self.repo.branch(name).remove(""), {})

    @rule(name=st.one_of(picks, names), path=paths, value=st.one_of(small_values, st.just(MISSING)))
    def test_and_set(self, name, path, value):
        name = self.existing(name, "main") if isinstance(name, int) else name
        state = self.state(name)
        new = model_remove(state, path) if value is MISSING else model_set(state, path, value)
        self.write(name, lambda: self.repo.branch(name).test_and_set(path, model_find(state, path), value), new)

    @rule(name=names, path=paths, value=small_values)
    def test_and_set_fails(self, name, path, value):
        found = model_find(self.state(name), path)
        wrong = ["not", found] if found is not MISSING else "absent"
        exc = self.refused("test_and_set with a wrong test", self.repo.branch(name).test_and_set, path, wrong, value)
        assert isinstance(exc, TestFailed), exc

    @rule(src=st.one_of(picks, names), dst=names)
    def clone(self, src, dst):
        src = self.existing(src, "main") if isinstance(src, int) else src
        self.repo.branch(src).clone(dst)
        if src in self.heads:
            self.heads[dst] = self.heads[src]
        else:  # Irmin: cloning a branch without a head removes the destination
            self.heads.pop(dst, None)

    @rule(name=st.one_of(picks, names))
    def remove_branch(self, name):
        name = self.existing(name, "main") if isinstance(name, int) else name
        self.repo.remove_branch(name)
        self.heads.pop(name, None)

    @rule(a=picks, b=picks)
    def merge_branches(self, a, b):
        a, b = self.existing(a), self.existing(b)
        if a is None or a == b:
            return
        self.do_merge(a, self.heads[b])

    @rule(a=picks, b=names, pa=paths, va=small_values, pb=paths, vb=small_values)
    def concurrent_edits_then_merge(self, a, b, pa, va, pb, vb):
        a = self.existing(a, "main")
        if a == b:
            return
        self.clone(a, b)
        self.set(a, "x/" + pa, va)
        self.set(b, "y/" + pb, vb)
        self.do_merge(a, self.heads[b])

    @rule(a=picks, b=names, path=paths, va=small_values, vb=small_values)
    def conflicting_edits_then_merge(self, a, b, path, va, vb):
        a = self.existing(a, "main")
        if a == b or values_equal(va, vb):
            return
        self.clone(a, b)
        self.set(a, "x/" + path, va)
        self.set(b, "x/" + path, vb)
        exc = self.refused("conflicting merge", self.repo.branch(a).merge_with_branch, b)
        assert isinstance(exc, MergeConflictError), exc

    @rule(a=names, b=picks)
    def fast_forward(self, a, b):
        b = self.existing(b)
        if b is None:
            return
        head, cid = self.heads.get(a), self.heads[b]
        branch = self.repo.branch(a)
        if head == cid:
            exc = self.refused("fast_forward to the head", branch.fast_forward, cid)
            assert isinstance(exc, FastForwardError) and exc.reason == "no_change", exc
        elif head is None or head in self.ancestors(cid):
            assert branch.fast_forward(cid) == cid
            self.heads[a] = cid
        else:
            exc = self.refused("fast_forward to a non-descendant", branch.fast_forward, cid)
            assert isinstance(exc, FastForwardError) and exc.reason == "rejected", exc

    @rule()
    def compact(self):
        self.fs.compact()

    @rule()
    def reopen(self):
        self.fs = FlashStore.open(self.dev, keep=KEEP, retention=retention)
        self.repo = Repo(self.fs.objects, self.fs.refs, author="t", clock=self.clock)

    @rule(seed=st.integers(0, 255))
    def fill_the_device(self, seed):
        # values of 2 KiB on branch "fill" until the device is full; then a delete
        # and the removal of the branch must be accepted (they free it)
        branch = self.repo.branch("fill")
        for i in range(3 * BC * BS // 2048):
            value = bytes([seed, i]) * 1024
            before = self.refs()
            try:
                self.write("fill", lambda: branch.set("f%d" % i, value),
                           model_set(self.state("fill"), "f%d" % i, value))
            except DeviceFull:
                assert self.refs() == before
                SEEN.setdefault("device full", set()).add("DeviceFull")
                break
        else:
            raise AssertionError("the device never filled")
        self.write("fill", lambda: branch.remove("f0"), model_remove(self.state("fill"), "f0"))
        self.repo.remove_branch("fill")
        self.heads.pop("fill", None)

    # -- invalid operations -------------------------------------------------------------

    def refused_path(self, kind, path, fn, *args):
        exc = self.refused(kind, fn, path, *args)
        # the error names the bad path
        assert repr(path) in str(exc) or str(path) in str(exc), (kind, path, str(exc))

    @rule(name=names, path=bad_paths, value=small_values)
    def set_bad_path(self, name, path, value):
        self.refused_path("set with a bad path", path, self.repo.branch(name).set, value)

    @rule(name=names, path=bad_paths)
    def remove_bad_path(self, name, path):
        self.refused_path("remove with a bad path", path, self.repo.branch(name).remove)

    @rule(name=names, path=bad_paths, value=small_values)
    def test_and_set_bad_path(self, name, path, value):
        self.refused_path("test_and_set with a bad path", path, self.repo.branch(name).test_and_set, MISSING, value)

    @rule(name=names, path=paths)
    def set_through_a_value(self, name, path):
        # a value at "p" and a write at "p/q": Irmin (and Sprig's Tree.add) replace
        # the value by a directory, so this is a valid write
        self.set(name, path, 1)
        self.set(name, path + "/q", 2)

    @rule(name=names, path=paths, value=bad_values)
    def set_unsupported_value(self, name, path, value):
        self.refused("set with an unsupported value", self.repo.branch(name).set, path, value)

    @rule(name=names, path=paths, info=bad_info)
    def set_bad_info(self, name, path, info):
        self.refused("set with a bad message or author", self.repo.branch(name).set, path, 1, **info)

    @rule(name=names, path=paths)
    def set_bigger_than_the_device(self, name, path):
        self.refused("set of a value bigger than the device", self.repo.branch(name).set, path,
                     b"\x5a" * (BC * BS + 1))

    @rule(name=names, other=names)
    def merge_unknown_branch(self, name, other):
        if other in self.heads:
            return
        self.refused("merge_with_branch of a branch that does not exist",
                     self.repo.branch(name).merge_with_branch, other)

    @rule(name=names, cid=st.binary(min_size=32, max_size=32))
    def merge_unknown_commit(self, name, cid):
        self.refused("merge_with_commit of an unknown commit", self.repo.branch(name).merge_with_commit, cid)

    @rule(name=names, cid=st.binary(min_size=32, max_size=32))
    def fast_forward_unknown_commit(self, name, cid):
        self.refused("fast_forward to an unknown commit", self.repo.branch(name).fast_forward, cid)

    @rule(name=names, other=st.sampled_from(["nosuch", "0000", "dead"]))
    def fast_forward_unknown_name(self, name, other):
        self.refused("fast_forward to an unknown name", self.repo.branch(name).fast_forward, other)

    @rule(bad=bad_branch_names, name=names)
    def bad_branch_name(self, bad, name):
        self.refused("a bad branch name", self.repo.branch, bad)
        self.refused("clone to a bad branch name", self.repo.branch(name).clone, bad)

    # -- after every step -----------------------------------------------------------------

    @invariant()
    def matches_model_takes_a_write_and_is_clean(self):
        if not hasattr(self, "repo"):
            return
        assert self.repo.branches() == sorted(self.heads)
        for name in sorted(self.heads):
            branch = self.repo.branch(name)
            assert branch.head() == self.heads[name], name
            got = dict(branch.tree().walk())
            assert states_equal(got, self.state(name)), (name, sorted(got), sorted(self.state(name)))
        self.probes += 1
        self.write("probe", lambda: self.repo.branch("probe").set("n", self.probes),
                   model_set(self.state("probe"), "n", self.probes))
        report = self.fs.fsck()
        assert report["clean"], report


FlashRepoMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("SPRIG_SM_EXAMPLES", "120")),
    stateful_step_count=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)
test_flash_repo_against_model = FlashRepoMachine.TestCase


def teardown_module(module):
    if os.environ.get("SPRIG_SM_REPORT"):
        for kind in sorted(SEEN):
            print("%s: %s" % (kind, ", ".join(sorted(SEEN[kind]))))
