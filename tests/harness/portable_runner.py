"""Sprig's tiny portable test runner: runs on CPython and on MicroPython (unix, firmware).

It calls plain ``test_*`` functions and prints, for each one,

    @@SPRIG-TEST-BEGIN <name>
    ... whatever the test printed, and on failure its traceback ...
    @@SPRIG-TEST-END <name> pass|fail

then ``@@SPRIG-DONE``. The host harness (tests/harness/runtimes.py) parses these lines.

On the unix port: ``micropython portable_runner.py path/to/test_x.py [name ...]``.
On the firmware the harness sends this file's source, then the test module's source
and a call to ``run_tests(globals(), names)`` through the raw REPL.
"""

import gc
import sys


def _print_exception(exc):
    try:
        sys.print_exception(exc)
    except AttributeError:
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stdout)


def run_tests(namespace, names=None):
    """Run the test functions ``names`` (default: every ``test_*``) found in ``namespace``."""
    if names is None:
        names = sorted(n for n in namespace if n.startswith("test_") and callable(namespace[n]))
    for name in names:
        print("@@SPRIG-TEST-BEGIN " + name)
        outcome = "fail"
        try:
            func = namespace.get(name)
            if func is None:
                raise NameError("no test function named " + name)
            func()
            outcome = "pass"
        except Exception as exc:
            _print_exception(exc)
        gc.collect()
        print("@@SPRIG-TEST-END " + name + " " + outcome)
    print("@@SPRIG-DONE")


def _main(argv):
    path = argv[1]
    cut = path.rfind("/")
    directory, filename = (path[:cut], path[cut + 1 :]) if cut >= 0 else (".", path)
    sys.path.insert(0, directory)
    modname = filename[:-3] if filename.endswith(".py") else filename
    try:
        module = __import__(modname)
    except Exception as exc:
        print("@@SPRIG-IMPORT-ERROR")
        _print_exception(exc)
        print("@@SPRIG-DONE")
        return
    names = argv[2:] or None
    run_tests(module.__dict__, names)


if __name__ == "__main__" and len(sys.argv) > 1:  # not when sent to the firmware
    _main(sys.argv)
