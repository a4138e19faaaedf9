"""Sprig's host side: the ``sprig`` CLI, the sync client and the Git-format store."""
