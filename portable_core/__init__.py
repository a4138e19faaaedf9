"""Sprig's portable core: a Git-like, branchable, mergeable store in pure Python.

Runs unchanged on CPython >= 3.11 and MicroPython >= 1.25.
"""

from portable_core.version import __version__, VERSION_TUPLE
