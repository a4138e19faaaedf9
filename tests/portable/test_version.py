"""The first portable module: version and the compat shim, on every runtime."""

import portable_core
from portable_core import compat
from portable_core.compat import const

_ANSWER = const(42)


def test_version_is_semver():
    parts = portable_core.__version__.split(".")
    assert len(parts) == 3
    assert tuple(int(p) for p in parts) == portable_core.VERSION_TUPLE


def test_const_shim_returns_value():
    assert _ANSWER == 42
    assert const(7) + 1 == 8


def test_runtime_name():
    name = compat.runtime_name()
    assert name in ("cpython", "micropython-unix", "micropython-qemu"), name
    assert compat.IS_MICROPYTHON == (name != "cpython")


def test_print_exception_writes_traceback():
    import io

    buf = io.StringIO()
    try:
        raise ValueError("boom")
    except ValueError as exc:
        compat.print_exception(exc, buf)
    text = buf.getvalue()
    assert "ValueError" in text and "boom" in text, text
