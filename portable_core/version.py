"""Sprig's version, shared by every runtime and by the host tools."""

VERSION_TUPLE = (0, 1, 0)
__version__ = "%d.%d.%d" % VERSION_TUPLE
