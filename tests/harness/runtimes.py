"""Run a portable test module on a MicroPython runtime and collect per-test results.

Two runtimes besides CPython (which the pytest plugin calls in-process):

- ``micropython-unix``: ``build/bin/micropython portable_runner.py <module>``, with
  ``portable_core`` and ``block_backend`` imported from the source tree;
- ``micropython-qemu``: the firmware boots in QEMU (``host_tools.emulator``), the
  runner and the module are sent through the raw REPL; ``portable_core`` and
  ``block_backend`` are the frozen copies in the image.

``run_module`` returns ``{test name: TestResult}``. A test that the device never
finished (timeout, crash, import error) is a failure carrying the device's output.
A missing toolchain raises ``RuntimeMissing``: the caller fails the tests, never skips.
"""

import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, TOP)

from host_tools import emulator  # noqa: E402

RUNNER = os.path.join(HERE, "portable_runner.py")
SUPPORT_NAME = "portable_support"
SUPPORT = os.path.join(TOP, "tests", "portable", SUPPORT_NAME + ".py")
DEFAULT_MICROPYTHON = os.path.join(TOP, "build", "bin", "micropython")
DEFAULT_TIMEOUT = 300.0

RUNTIMES = ("cpython", "micropython-unix", "micropython-qemu")
MICROPYTHON_RUNTIMES = ("micropython-unix", "micropython-qemu")

BEGIN = "@@SPRIG-TEST-BEGIN "
END = "@@SPRIG-TEST-END "
DONE = "@@SPRIG-DONE"


class RuntimeMissing(RuntimeError):
    """A runtime's binary (MicroPython, QEMU, the firmware) is not there."""


class TestResult:
    """One test's outcome on one runtime: ``passed`` and the output it printed."""

    def __init__(self, passed, output):
        self.passed = passed
        self.output = output

    def __repr__(self):
        return "TestResult(%r)" % ("pass" if self.passed else "fail")


def module_timeout(path):
    """Return the module's time limit: a ``# sprig-timeout: N`` line, else the default."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("# sprig-timeout:"):
                return float(line.split(":", 1)[1])
    return float(os.environ.get("SPRIG_TEST_TIMEOUT", DEFAULT_TIMEOUT))


def micropython_binary():
    """Return the unix-port binary (``$SPRIG_MICROPYTHON`` overrides); RuntimeMissing if absent."""
    path = os.environ.get("SPRIG_MICROPYTHON", DEFAULT_MICROPYTHON)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise RuntimeMissing(
            "MicroPython unix port not found at %s: run `make setup` to build it" % path
        )
    return path


def parse_output(text, names, tail_note):
    """Split runner output into ``{name: TestResult}``; unfinished tests fail with ``tail_note``."""
    results = {}
    current = None
    lines = []
    preamble = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.rstrip("\r")
        if line.startswith(BEGIN):
            current = line[len(BEGIN):].strip()
            lines = []
        elif line.startswith(END) and current is not None:
            name, _, outcome = line[len(END):].strip().rpartition(" ")
            results[name] = TestResult(outcome == "pass", "\n".join(lines))
            current = None
        elif current is not None:
            lines.append(line)
        elif line.strip() and not line.startswith(DONE):
            preamble.append(line)
    for name in names:
        if name not in results:
            so_far = "\n".join(lines) if current == name else "\n".join(preamble)
            results[name] = TestResult(False, (so_far + "\n" + tail_note).strip())
    return results


def run_unix(path, names, timeout=None):
    """Run test functions ``names`` of module ``path`` on the MicroPython unix port."""
    binary = micropython_binary()
    timeout = module_timeout(path) if timeout is None else timeout
    env = dict(os.environ)
    env["MICROPYPATH"] = TOP + ":.frozen"
    proc = subprocess.Popen(
        [binary, RUNNER, path] + list(names),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=TOP,
        start_new_session=True,
    )
    note = ""
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        note = "micropython-unix: timed out after %.0f s" % timeout
    text = out.decode("utf-8", "replace")
    if not note:
        note = "micropython-unix: the test did not finish (exit status %s)" % proc.returncode
    return parse_output(text, names, note)


def _read_source(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def support_installer():
    """Return device code that installs tests/portable/portable_support.py as the
    module ``portable_support`` (the firmware has no filesystem to import it from,
    and MicroPython cannot create module objects: an object with its names will do)."""
    return (
        "import sys\n"
        "_ns = {}\n"
        "exec(%r, _ns)\n"
        "class _SupportModule:\n"
        "    pass\n"
        "_m = _SupportModule()\n"
        "for _k in _ns:\n"
        "    setattr(_m, _k, _ns[_k])\n"
        "sys.modules[%r] = _m\n"
        "del _ns, _m, _k\n" % (_read_source(SUPPORT), SUPPORT_NAME)
    )


# Modules that Sprig imports on first use (compaction, fsck, the rarer store
# methods...). On the firmware their lasting objects (functions, classes), created
# in the middle of a test, would split the 140 KiB heap so that the next test's
# 16 KiB device buffer finds no room: flash test modules import them first.
PRELOAD = (
    "import gc\n"
    "import block_backend.compaction, block_backend.fsck\n"
    "import portable_core.heads, portable_core.resolve, portable_core.merging\n"
    "import portable_core.transactions, portable_core.store_errors, portable_core.node_edit\n"
    "import portable_core.tree_write, portable_core.tree_walk, portable_core.tree_copy\n"
    "import portable_core.snapshot\n"
    "gc.collect()\n"
)


def run_qemu(path, names, timeout=None):
    """Run test functions ``names`` of module ``path`` on the firmware booted in QEMU."""
    timeout = module_timeout(path) if timeout is None else timeout
    try:
        device = emulator.QemuDevice()
    except emulator.EmulatorError as exc:
        raise RuntimeMissing(str(exc))
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        device.start()
        device.enter_raw_repl()
        source = _read_source(path)
        if SUPPORT_NAME in source:
            out, err = device.exec_raw(support_installer(), timeout)
            if err:
                note = "micropython-qemu: installing %s failed:\n%s" % (
                    SUPPORT_NAME, (out + err).decode("utf-8", "replace"))
                return parse_output("", names, note)
        if "block_backend" in source:
            out, err = device.exec_raw(PRELOAD, timeout)
            if err:
                note = "micropython-qemu: preloading failed:\n" + (out + err).decode("utf-8", "replace")
                return parse_output("", names, note)
        out, err = device.exec_raw(source, timeout)
        if err:
            text = (out + err).decode("utf-8", "replace")
            note = "micropython-qemu: the module failed to load:\n" + text
            return parse_output("", names, note)
        code = _read_source(RUNNER) + "\nrun_tests(globals(), %r)\n" % (list(names),)
        left = max(1.0, deadline - time.monotonic())
        out, err = device.exec_raw(code, left, chunks.append)
        text = (out + err).decode("utf-8", "replace")
        return parse_output(text, names, "micropython-qemu: the test did not finish")
    except emulator.DeviceTimeout as exc:
        text = (b"".join(chunks) or exc.output).decode("utf-8", "replace")
        return parse_output(text, names, "micropython-qemu: timed out after %.0f s" % timeout)
    except emulator.EmulatorError as exc:
        text = b"".join(chunks).decode("utf-8", "replace")
        return parse_output(text, names, "micropython-qemu: " + str(exc))
    finally:
        device.kill()


def run_module(path, runtime, names, timeout=None):
    """Run ``names`` from the portable module at ``path`` on a MicroPython ``runtime``."""
    if runtime == "micropython-unix":
        return run_unix(path, names, timeout)
    if runtime == "micropython-qemu":
        return run_qemu(path, names, timeout)
    raise ValueError("not a MicroPython runtime: %r" % runtime)
