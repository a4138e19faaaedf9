"""Walks and diffs of trees (``Tree.iter_contents``, ``Tree.walk`` and
``Tree.diff`` call these): depth first with explicit stacks, one directory's entry
list in RAM per open level, subtrees with equal ids skipped unread."""

from portable_core.missing import MISSING
from portable_core.node import KIND_CONTENTS, KIND_NODE, entry_value
from portable_core.node_edit import all_entries, delta
from portable_core.paths import join, parse_path, path_str


def iter_contents(tree, prefix=""):
    """Yield ``(path, value)`` for every contents of ``tree`` at or under ``prefix``,
    lazily, ordered by path."""
    steps = parse_path(prefix)
    if not steps:
        yield from _walk(tree, "")
        return
    t, e = tree._entry(steps)
    if e is None:
        return
    if e[1] == KIND_CONTENTS:
        yield path_str(steps), entry_value(t._store, e)
    else:
        yield from _walk(t._sub(e), path_str(steps))


def diff(a, b):
    """Return the list of ``(path, change, old, new)`` turning tree ``a`` into tree
    ``b`` (see ``Tree.diff``)."""
    out = []
    _diff(a, b, "", out)
    return out


def _diff(a, b, prefix, out):
    # frames [a, b, path, sorted changes or None, next index]; no recursion
    stack = [[a, b, prefix, None, 0]]
    while stack:
        frame = stack[-1]
        a = frame[0]
        b = frame[1]
        changes = frame[3]
        if changes is None:
            if a.hash() == b.hash():
                stack.pop()
                continue
            a = frame[0] = a._loaded()
            b = frame[1] = b._loaded()
            changes = frame[3] = []
            delta(a._store, a._root, b._store, b._root, 0, changes)
            changes.sort(key=_first)
        i = frame[4]
        if i >= len(changes):
            stack.pop()
            continue
        frame[4] = i + 1
        name, ea, eb = changes[i]
        path = join(frame[2], name)
        ka = None if ea is None else ea[1]
        kb = None if eb is None else eb[1]
        if ka == KIND_NODE and kb == KIND_NODE:
            stack.append([a._sub(ea), b._sub(eb), path, None, 0])
            continue
        if ka == KIND_CONTENTS and kb == KIND_CONTENTS:
            out.append((path, "updated", entry_value(a._store, ea), entry_value(b._store, eb)))
            continue
        # one side absent or the kinds differ: "x" sorts before "x/..."
        if ka == KIND_CONTENTS:
            out.append((path, "removed", entry_value(a._store, ea), MISSING))
        if kb == KIND_CONTENTS:
            out.append((path, "added", MISSING, entry_value(b._store, eb)))
        if ka == KIND_NODE:
            for p, v in _walk(a._sub(ea), path):
                out.append((p, "removed", v, MISSING))
        if kb == KIND_NODE:
            for p, v in _walk(b._sub(eb), path):
                out.append((p, "added", MISSING, v))


def _first(item):
    return item[0]


def _walk(tree, prefix):
    # depth first, one sorted entry list per open directory (no recursion)
    stack = [[tree, all_entries(tree._store, tree._node(), 0), 0, prefix]]
    while stack:
        frame = stack[-1]
        entries = frame[1]
        i = frame[2]
        if i >= len(entries):
            stack.pop()
            continue
        frame[2] = i + 1
        e = entries[i]
        path = join(frame[3], e[0])
        if e[1] == KIND_CONTENTS:
            yield path, entry_value(frame[0]._store, e)
        else:
            sub = frame[0]._sub(e)
            stack.append([sub, all_entries(sub._store, sub._node(), 0), 0, path])
