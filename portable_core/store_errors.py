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


class UnknownCommit(StoreError):
    """A commit given to the store (an id, a prefix, a branch name, a parent) that is
    not a commit in its object store; ``ref`` holds what was given. Raised before
    anything is written: no ref changes."""

    def __init__(self, ref, why="is not a commit in this store"):
        super().__init__("%s %s" % (_name(ref), why))
        self.ref = ref


class InvalidInfo(TypeError):
    """Commit info of the wrong type: an author or message that is not a str, a date
    that is not an int (a bool is not one), or a clock returning one of those.
    ``field`` names it ("author", "message" or "date"). Raised before anything is
    written."""

    def __init__(self, field, value):
        super().__init__("commit %s must be %s, not %s (%r)" % (
            field, "an int" if field == "date" else "a str", type(value).__name__, value))
        self.field = field
        self.value = value


def _name(ref):
    if isinstance(ref, (bytes, bytearray)):
        from portable_core.objects import to_hex

        return "commit " + to_hex(bytes(ref))
    return repr(ref)
