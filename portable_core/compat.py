"""The few things CPython and MicroPython spell differently, in one place.

Everything else in ``portable_core`` and ``block_backend`` imports only modules
both runtimes have.
"""

import sys

IS_MICROPYTHON = sys.implementation.name == "micropython"

try:
    from micropython import const
except ImportError:

    def const(value):
        """Return ``value``: CPython's stand-in for ``micropython.const``."""
        return value


try:
    from sys import print_exception as _print_exception
except ImportError:
    _print_exception = None


def print_exception(exc, file=None):
    """Print ``exc`` with its traceback, as ``sys.print_exception`` does."""
    if file is None:
        file = sys.stdout
    if _print_exception is not None:
        _print_exception(exc, file)
        return
    import traceback

    traceback.print_exception(type(exc), exc, exc.__traceback__, file=file)


def runtime_name():
    """Name the runtime: ``cpython``, ``micropython-unix`` or ``micropython-<platform>``."""
    if not IS_MICROPYTHON:
        return "cpython"
    if sys.platform == "linux" or sys.platform == "darwin":
        return "micropython-unix"
    return "micropython-" + sys.platform


def free_heap():
    """Free heap bytes after a collection, or None where the runtime cannot tell."""
    try:
        import gc

        gc.collect()
        return gc.mem_free()
    except AttributeError:
        return None
