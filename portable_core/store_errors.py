"""The exceptions of the store API (portable_core.store):
here so that a device that only reads and writes values does not hold their classes
(loaded on first use)."""


class StoreError(Exception):
    """A store operation could not be done as asked."""


class InvalidBranchName(ValueError):
    """A branch name outside ``[A-Za-z0-9-_./]`` or not a valid Git ref component."""


class WriteError(StoreError):
    """A write was refused; nothing changed."""


class TestFailed(WriteError):
    """A test-and-set found something else; ``found`` holds it (MISSING: absent)."""

    __test__ = False  # not a pytest test class

    def __init__(self, path, found):
        super().__init__("test_and_set at %r failed: found %r" % (path, found))
        self.path = path
        self.found = found


class TooManyRetries(WriteError):
    """The head kept moving under a write for more than the allowed retries."""


class FastForwardError(StoreError):
    """A fast-forward was refused; ``reason`` is "no_change", "rejected" or
    "max_depth_reached"."""

    def __init__(self, reason):
        super().__init__("fast-forward refused: " + reason.replace("_", " "))
        self.reason = reason
