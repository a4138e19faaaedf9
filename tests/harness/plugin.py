"""pytest plugin: every portable test module runs on CPython, MicroPython unix and QEMU.

A portable module is ``tests/portable/test_*.py`` (or any file named ``test_*.py``
with a line ``# sprig: portable`` among its first three). Each top-level ``test_*`` function
becomes three items, ``name[cpython]``, ``name[micropython-unix]`` and
``name[micropython-qemu]``. The MicroPython runs happen once per (module, runtime),
for the selected tests, when the first of its items runs; the other items read the
cached results. Missing runtimes fail the items with the reason; nothing is skipped.
"""

import ast
import os
import subprocess

import pytest

from harness import runtimes

PORTABLE_DIR = os.path.join(runtimes.TOP, "tests", "portable")
BUILD_SCRIPT = os.path.join(runtimes.TOP, "qemu", "build_micropython.sh")


def is_portable(path):
    """Return True when the file at ``path`` is a portable test module."""
    path = str(path)
    name = os.path.basename(path)
    if not (name.startswith("test_") and name.endswith(".py")):
        return False
    if os.path.dirname(os.path.abspath(path)) == PORTABLE_DIR:
        return True
    with open(path, encoding="utf-8") as f:
        first_lines = [f.readline().rstrip() for _ in range(3)]
    return "# sprig: portable" in first_lines


def portable_test_names(path):
    """Return the top-level ``test_*`` function names of the module at ``path``, in file order."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), filename=str(path))
    return [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    ]


class PortableTestFailure(Exception):
    """A portable test failed on a MicroPython runtime; the message is the device output."""


class PortableModule(pytest.Module):
    """Collects a portable module's functions once per runtime."""

    def collect(self):
        for name in portable_test_names(self.path):
            for runtime in runtimes.RUNTIMES:
                yield PortableItem.from_parent(
                    self, name="%s[%s]" % (name, runtime), function=name, runtime=runtime
                )


class PortableItem(pytest.Item):
    """One portable test function on one runtime."""

    def __init__(self, *, function, runtime, **kwargs):
        super().__init__(**kwargs)
        self.test_name = function
        self.runtime = runtime
        self.add_marker(getattr(pytest.mark, runtime.replace("-", "_")))

    def runtest(self):
        if self.runtime == "cpython":
            getattr(self.parent.obj, self.test_name)()
            return
        result = self.session.config._sprig_results.get(self)
        if not result.passed:
            raise PortableTestFailure(result.output)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, PortableTestFailure):
            return "%s on %s:\n%s" % (self.test_name, self.runtime, excinfo.value)
        if isinstance(excinfo.value, runtimes.RuntimeMissing):
            return "%s: %s" % (self.runtime, excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, "%s[%s]" % (self.test_name, self.runtime)


class ResultCache:
    """Runs each (module, MicroPython runtime) once, for the tests selected in this session."""

    def __init__(self, session):
        self.session = session
        self.results = {}
        self.build_error = None
        self.built = False

    def _ensure_built(self):
        if self.built:
            return
        self.built = True
        if os.environ.get("SPRIG_SKIP_BUILD") == "1" or not os.path.exists(BUILD_SCRIPT):
            return
        proc = subprocess.run(
            ["bash", BUILD_SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        if proc.returncode != 0:
            self.build_error = "building MicroPython failed (run `make setup`):\n" + proc.stdout

    def get(self, item):
        """Return the TestResult of ``item``, running its module on its runtime if needed."""
        key = (str(item.path), item.runtime)
        if key not in self.results:
            self._ensure_built()
            if self.build_error:
                raise runtimes.RuntimeMissing(self.build_error)
            names = [
                other.test_name
                for other in self.session.items
                if isinstance(other, PortableItem)
                and other.runtime == item.runtime
                and str(other.path) == key[0]
            ]
            self.results[key] = runtimes.run_module(key[0], item.runtime, names)
        return self.results[key][item.test_name]


def pytest_configure(config):
    for runtime in runtimes.RUNTIMES:
        config.addinivalue_line(
            "markers", "%s: a portable test on %s" % (runtime.replace("-", "_"), runtime)
        )


def pytest_sessionstart(session):
    session.config._sprig_results = ResultCache(session)


def pytest_pycollect_makemodule(module_path, parent):
    if is_portable(module_path):
        return PortableModule.from_parent(parent, path=module_path)
    return None


def pytest_sessionfinish(session):
    runtimes.emulator.kill_all()
