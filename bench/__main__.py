"""``make bench [BENCH=group]``: run benchmark groups, one JSON object per line."""

import importlib
import sys

from bench import common

GROUPS = ("core", "flash")


def main(argv):
    """Run the groups named in ``argv`` (default: all); exit non-zero on any error."""
    groups = argv or list(GROUPS)
    for name in groups:
        if name not in GROUPS:
            common.emit_error(name, "*", "no benchmark group %r (have: %s)" % (name, ", ".join(GROUPS)))
            continue
        try:
            module = importlib.import_module("bench." + name)
        except ImportError as exc:
            common.emit_error(name, "*", "cannot load the group: %s" % exc)
            continue
        module.run()
    return 1 if common.failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
