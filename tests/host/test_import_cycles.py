"""Every module of portable_core and block_backend, imported and parsed: no import
cycle, whether through module-level imports or through the imports done inside a
function body (the thin methods of Repo, Branch and Tree load their concept's module
on first call that way), and no module ``__getattr__`` (no lazy re-exports).

Both kinds of edges count: a cycle through a function-local import is still a
cycle between layers (a module that needs the one that calls it), and the issue
asks for none. They are collected and reported separately, so a failure says which
kind of import closes the cycle.
"""

import ast
import importlib
import os

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGES = ("portable_core", "block_backend")


def _modules():
    out = {}
    for pkg in PACKAGES:
        folder = os.path.join(TOP, pkg)
        for name in sorted(os.listdir(folder)):
            if name.endswith(".py"):
                mod = pkg if name == "__init__.py" else pkg + "." + name[:-3]
                out[mod] = os.path.join(folder, name)
    return out


MODULES = _modules()


def _targets(node, module):
    # the project modules an Import/ImportFrom node imports
    found = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            found.append(alias.name)
    else:
        base = node.module or ""
        if node.level:  # relative import
            parts = module.split(".")
            base = ".".join(parts[: len(parts) - node.level] + ([base] if base else []))
        for alias in node.names:
            sub = base + "." + alias.name
            found.append(sub if sub in MODULES else base)
    return [m for m in found if m in MODULES]


def _imports(module):
    """Return (module-level targets, function-local targets) of ``module``."""
    with open(MODULES[module], encoding="utf-8") as f:
        tree = ast.parse(f.read(), MODULES[module])
    top = set()
    local = set()

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                (local if in_function else top).update(_targets(child, module))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                visit(child, True)
            else:
                visit(child, in_function)

    visit(tree, False)
    top.discard(module)
    local.discard(module)
    return top, local - top


def _graph():
    top = {}
    local = {}
    for m in MODULES:
        top[m], local[m] = _imports(m)
        # ``import a.b`` also runs a's __init__: an edge to the package
        for target in list(top[m]):
            pkg = target.split(".")[0]
            if pkg != target and pkg != m:
                top[m].add(pkg)
    return top, local


def _cycles(edges):
    """Return one cycle (a list of modules) per strongly connected component of
    more than one module (Tarjan, iterative)."""
    index = {}
    low = {}
    on_stack = set()
    stack = []
    comps = []
    counter = [0]
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                    advanced = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    comps.append(sorted(comp))
    return comps


def _describe(comps, top, local):
    lines = []
    for comp in comps:
        members = set(comp)
        lines.append("cycle among: " + ", ".join(comp))
        for m in comp:
            for t in sorted(top[m] & members):
                lines.append("  %s -> %s (module level)" % (m, t))
            for t in sorted(local[m] & members):
                lines.append("  %s -> %s (inside a function)" % (m, t))
    return "\n".join(lines)


def test_every_module_imports():
    for m in MODULES:
        importlib.import_module(m)


def test_no_cycle_through_module_level_imports():
    top, local = _graph()
    comps = _cycles(top)
    assert not comps, _describe(comps, top, {m: set() for m in top})


def test_no_cycle_through_function_local_imports_either():
    top, local = _graph()
    both = {m: top[m] | local[m] for m in top}
    comps = _cycles(both)
    assert not comps, _describe(comps, top, local)


def test_the_detector_finds_a_cycle():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(edges) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_getattr():
    for m, path in MODULES.items():
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        for node in tree.body:
            assert not (isinstance(node, ast.FunctionDef) and node.name == "__getattr__"), (
                "%s defines a module __getattr__ (a lazy re-export)" % m
            )


def test_no_class_patched_at_run_time():
    # no setattr on a class and no method-attaching __getattr__ in a class
    for m, path in MODULES.items():
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    assert not (isinstance(item, ast.FunctionDef) and item.name == "__getattr__"), (
                        "%s: class %s defines __getattr__" % (m, node.name)
                    )
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr":
                target = node.args[0] if node.args else None
                assert not (isinstance(target, ast.Attribute) or (
                    isinstance(target, ast.Name) and target.id[:1].isupper())), (
                    "%s line %d: setattr on a class" % (m, node.lineno)
                )
