"""Sprig's device agent, frozen into the MicroPython firmware.

Start it at the device console with ``import sprig_agent; sprig_agent.main()``.
"""

import portable_core
from portable_core import compat


def banner():
    """Return the one-line greeting the agent prints at start: version, runtime, heap."""
    heap = compat.free_heap()
    return "sprig %s on %s, free heap %s bytes" % (
        portable_core.__version__,
        compat.runtime_name(),
        "unknown" if heap is None else heap,
    )


def main():
    """Run the agent: print the banner."""
    print(banner())
