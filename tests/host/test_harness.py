"""Tests of the three-runtime harness itself (host only)."""

import os
import subprocess
import sys
import textwrap

from harness import runtimes
from harness.plugin import portable_test_names

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_module(tmp_path, name, body):
    path = tmp_path / name
    path.write_text("# sprig: portable\n" + textwrap.dedent(body))
    return str(path)


def qemu_children():
    """Return the pids of qemu-system-arm processes that are children of this process."""
    found = []
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == me and b"qemu-system-arm" in cmdline:
            found.append(int(entry))
    return found


def run_pytest(tmp_path, module, env_extra, extra_args=()):
    env = dict(os.environ)
    env.update(env_extra)
    env["PYTHONPATH"] = TESTS_DIR + os.pathsep + env.get("PYTHONPATH", "")
    env["SPRIG_SKIP_BUILD"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "harness.plugin", "-q", "-rA",
         "--rootdir", str(tmp_path), "-p", "no:cacheprovider", module] + list(extra_args),
        cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def test_cpython_only_module_fails_on_both_micropythons(tmp_path):
    path = write_module(tmp_path, "test_uses_dataclasses.py", """
        def test_dataclass():
            import dataclasses

            @dataclasses.dataclass
            class Point:
                x: int

            assert Point(1).x == 1
    """)
    for runtime in runtimes.MICROPYTHON_RUNTIMES:
        result = runtimes.run_module(path, runtime, ["test_dataclass"])["test_dataclass"]
        assert not result.passed, runtime
        assert "dataclasses" in result.output and "ImportError" in result.output, result.output
    proc = run_pytest(tmp_path, path, {})
    assert "PASSED test_uses_dataclasses.py::test_dataclass[cpython]" in proc.stdout, proc.stdout
    assert "FAILED test_uses_dataclasses.py::test_dataclass[micropython-unix]" in proc.stdout
    assert "FAILED test_uses_dataclasses.py::test_dataclass[micropython-qemu]" in proc.stdout
    assert proc.returncode == 1


def test_failure_shows_device_traceback_and_other_tests_still_run(tmp_path):
    path = write_module(tmp_path, "test_mixed.py", """
        def helper():
            return 41

        def test_fails():
            print("about to fail")
            assert helper() == 42, "helper gave %d" % helper()

        def test_passes():
            assert helper() == 41
    """)
    assert portable_test_names(path) == ["test_fails", "test_passes"]
    for runtime in runtimes.MICROPYTHON_RUNTIMES:
        results = runtimes.run_module(path, runtime, ["test_fails", "test_passes"])
        assert results["test_passes"].passed, runtime
        failed = results["test_fails"]
        assert not failed.passed
        assert "about to fail" in failed.output
        assert "AssertionError: helper gave 41" in failed.output, failed.output
        assert "line 8" in failed.output, failed.output  # the device's traceback, module lines


def test_import_error_fails_every_test(tmp_path):
    path = write_module(tmp_path, "test_broken.py", """
        import no_such_module_anywhere

        def test_a():
            pass
    """)
    for runtime in runtimes.MICROPYTHON_RUNTIMES:
        result = runtimes.run_module(path, runtime, ["test_a"])["test_a"]
        assert not result.passed
        assert "no_such_module_anywhere" in result.output, result.output


def test_timeout_fails_and_leaves_no_qemu(tmp_path):
    path = write_module(tmp_path, "test_hangs.py", """
        def test_quick():
            pass

        def test_forever():
            while True:
                pass
    """)
    results = runtimes.run_qemu(path, ["test_quick", "test_forever"], timeout=10)
    assert results["test_quick"].passed
    assert not results["test_forever"].passed
    assert "timed out" in results["test_forever"].output
    assert qemu_children() == []
    results = runtimes.run_unix(path, ["test_forever"], timeout=5)
    assert "timed out" in results["test_forever"].output


def test_missing_firmware_or_qemu_fails_clearly_never_skips(tmp_path):
    path = write_module(tmp_path, "test_trivial.py", """
        def test_ok():
            assert 1 + 1 == 2
    """)
    proc = run_pytest(tmp_path, path, {"SPRIG_FIRMWARE": str(tmp_path / "no-firmware.elf")})
    assert proc.returncode != 0
    assert "firmware not found" in proc.stdout, proc.stdout
    assert "FAILED test_trivial.py::test_ok[micropython-qemu]" in proc.stdout
    assert "skipped" not in proc.stdout.lower()

    proc = run_pytest(tmp_path, path, {"SPRIG_QEMU": "no-such-qemu-system-arm"})
    assert proc.returncode != 0
    assert "QEMU not found" in proc.stdout, proc.stdout
    assert "skipped" not in proc.stdout.lower()

    proc = run_pytest(tmp_path, path, {"SPRIG_MICROPYTHON": str(tmp_path / "no-micropython")})
    assert proc.returncode != 0
    assert "MicroPython unix port not found" in proc.stdout, proc.stdout
    assert "FAILED test_trivial.py::test_ok[micropython-unix]" in proc.stdout


def test_device_boots_quickly_and_shuts_down_cleanly():
    from host_tools.emulator import QemuDevice

    device = QemuDevice()
    banner = device.start()
    assert b"MicroPython v1.25.0" in banner and b"mps2-an385" in banner, banner
    try:
        assert "micropython-qemu" in device.run("import sprig_agent\nprint(sprig_agent.banner())")
    finally:
        device.close()
    assert device.proc.returncode == 0  # machine.reset() exits QEMU through semihosting
    assert qemu_children() == []


def test_keyword_selection_runs_only_the_chosen_items(tmp_path):
    path = write_module(tmp_path, "test_pick.py", """
        def test_one():
            pass

        def test_two():
            assert False, "not selected, must not run"
    """)
    proc = run_pytest(tmp_path, path, {}, ["-k", "test_one and not cpython"])
    assert proc.returncode == 0, proc.stdout
    assert "2 passed" in proc.stdout and "4 deselected" in proc.stdout, proc.stdout
