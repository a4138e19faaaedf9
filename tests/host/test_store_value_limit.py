"""The in-memory store refuses at write time a value it could not read back (its
encoding over cbor.DEFAULT_MAX_SIZE, the decoder's limit), naming the path and the
limit; the store is unchanged and usable. CPython only: the value is over 1 MiB."""

import pytest

from portable_core.cbor import DEFAULT_MAX_SIZE, CBORError
from portable_core.memstore import MemObjectStore, MemRefStore
from portable_core.store import Repo


def test_value_over_the_read_limit_is_refused():
    repo = Repo(MemObjectStore(), MemRefStore(), clock=None)
    main = repo.main()
    main.set("a", 1)
    head = main.head()
    count = len(repo.objects)
    # the largest byte string whose encoding (head of 5 bytes) fits is accepted
    fits = b"x" * (DEFAULT_MAX_SIZE - 5)
    main.set("fits", fits)
    assert main.get("fits") == fits
    head = main.head()
    count = len(repo.objects)
    with pytest.raises(CBORError) as info:
        main.set("big", b"x" * (DEFAULT_MAX_SIZE - 4))
    text = str(info.value)
    assert "big" in text and str(DEFAULT_MAX_SIZE) in text and "bytes" in text, text
    with pytest.raises(CBORError):
        main.transaction(lambda t: t.set("big", ["y" * DEFAULT_MAX_SIZE]))
    assert main.head() == head and len(repo.objects) == count
    main.set("b", 2)
    assert main.get("b") == 2 and main.get("a") == 1
