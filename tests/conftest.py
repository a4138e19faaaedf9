"""Test configuration: the three-runtime harness for portable tests (tests/harness/)."""

from harness.plugin import (  # noqa: F401  (pytest hooks)
    pytest_configure,
    pytest_pycollect_makemodule,
    pytest_sessionfinish,
    pytest_sessionstart,
)
