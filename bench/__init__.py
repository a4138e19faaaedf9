"""Sprig's benchmarks: ``make bench`` (``python -m bench [group ...]``)."""
