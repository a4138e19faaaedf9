"""``MISSING``: "no value here" (a key absent from a tree or a map), which is
different from ``None`` (a stored CBOR null). Also ``portable_core.conflict.MISSING``;
here so that reading and writing values need not load the merge conflict types."""


class _Missing:
    """The type of ``MISSING``: one instance, false in a boolean context."""

    def __repr__(self):
        return "MISSING"

    def __bool__(self):
        return False


MISSING = _Missing()
