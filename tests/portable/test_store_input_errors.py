"""Bad input to the store API: every error names what was wrong, is raised before
anything is written, and leaves the store unchanged and usable."""

from portable_core.cbor import CBORError
from portable_core.commit import read_commit
from portable_core.objects import TAG_COMMIT, ObjectError, encode_object
from portable_core.store_errors import InvalidInfo, StoreError, UnknownCommit
from portable_support import new_repo, raises

UNKNOWN = b"\x07" * 32


def snapshot(repo):
    """What must not change: every ref and the number of objects."""
    return [(r, repo.refs.get(r)) for r in repo.refs.list()], len(repo.objects)


def still_usable(repo):
    main = repo.main()
    main.set("ok", "yes")
    assert main.get("ok") == "yes"


def started():
    repo = new_repo()
    main = repo.main()
    main.set("a", 1)
    return repo, main


def test_info_that_is_not_text_is_refused():
    repo, main = started()
    before = snapshot(repo)
    for kw, field in (({"message": 5}, "message"), ({"author": 5}, "author"),
                      ({"message": b"x"}, "message"), ({"author": ["me"]}, "author")):
        exc = raises(InvalidInfo, main.set, "b", 2, **kw)
        assert exc.field == field and field in str(exc), str(exc)
        assert isinstance(exc, TypeError)
        exc = raises(InvalidInfo, main.remove, "a", **kw)
        assert exc.field == field
        exc = raises(InvalidInfo, main.transaction, lambda t: t.set("b", 2), **kw)
        assert exc.field == field
    assert snapshot(repo) == before
    main.set("b", 2)  # a falsy message or author means the default
    assert main.head_commit().author == "test" and main.get("b") == 2
    still_usable(repo)


def test_a_clock_returning_no_int_is_refused():
    for date in ("now", True, None.__class__, float("nan"), float("inf"), [1]):
        repo, main = started()
        before = snapshot(repo)
        repo.clock = lambda: date
        exc = raises(InvalidInfo, main.set, "b", 2)
        assert exc.field == "date" and "date" in str(exc), str(exc)
        assert snapshot(repo) == before
        repo.clock = None
        still_usable(repo)


def test_a_clock_returning_a_float_gives_whole_seconds():
    repo, main = started()
    repo.clock = lambda: 1700000000.75
    main.set("b", 2)
    date = main.head_commit().date
    assert date == 1700000000 and type(date) is int
    repo.clock = lambda: None  # no clock: a logical date
    main.set("c", 3)
    assert main.head_commit().date == 1700000001


def test_reading_a_commit_with_bad_info_names_the_id_and_field():
    repo, main = started()
    tree = main.head_commit().tree
    for info, field in (({"author": "a", "date": 1, "message": 5}, "message"),
                        ({"author": 5, "date": 1, "message": "m"}, "author"),
                        ({"author": "a", "date": 1.5, "message": "m"}, "date")):
        oid = repo.objects.add(encode_object(TAG_COMMIT, [tree, [], info, 1]))
        exc = raises(ObjectError, read_commit, repo.objects, oid)
        text = str(exc)
        assert field in text and "commit " in text, text


def test_unknown_commits_create_no_ref():
    repo, main = started()
    node_id = main.head_commit().tree
    before = snapshot(repo)
    for name in ("main", "new"):
        b = repo.branch(name)
        for bad in (UNKNOWN, node_id, "zzzz", "0000", b"short", 5):
            raises(UnknownCommit, b.merge_with_commit, bad)
            raises(UnknownCommit, b.fast_forward, bad)
            raises(UnknownCommit, b.set_head, bad)
            raises(UnknownCommit, b.revert, bad)
            raises(UnknownCommit, b.test_and_set_head, b.head(), bad)
            raises(UnknownCommit, b.lcas, bad)
        assert snapshot(repo) == before
    exc = raises(UnknownCommit, main.set_head, UNKNOWN)
    assert exc.ref == UNKNOWN and "0707" in str(exc)
    exc = raises(UnknownCommit, main.set_head, node_id)
    assert "not a commit" in str(exc)
    assert isinstance(exc, StoreError)
    raises(StoreError, main.merge_with_branch, "nope")
    assert snapshot(repo) == before
    still_usable(repo)
    new = repo.branch("new")
    assert new.test_and_set_head(None, main.head()) and new.head() == main.head()


def test_bad_paths_are_named_before_anything_else():
    repo, main = started()
    before = snapshot(repo)
    for bad in (5, None, 1.5, b"a", ("a", 5), "a//b", "a/", "/a", ("a", ""), ".."):
        for call in (lambda p: main.set(p, 1), lambda p: main.remove(p),
                     lambda p: main.test_and_set(p, 1, 2),
                     lambda p: main.merge(p, 1)):
            exc = raises(ValueError, call, bad)
            assert "path" in str(exc), str(exc)
    exc = raises(ValueError, main.set, 5, 1)
    assert "5" in str(exc)
    raises(ValueError, main.set, "", 1)  # the root holds no contents
    assert snapshot(repo) == before
    still_usable(repo)


def test_values_without_encoding_name_the_path_and_type():
    repo, main = started()
    before = snapshot(repo)

    class Thing:
        pass

    for value, kind in ((Thing(), "Thing"), ({1, 2}, "set"), ([1, {2: object()}], "list"),
                        ({(1, 2): 3}, "dict")):
        exc = raises(CBORError, main.set, "cfg/v", value)
        text = str(exc)
        assert "cfg/v" in text and kind in text, text
    deep = []
    for _ in range(40):
        deep = [deep]
    exc = raises(CBORError, main.set, "cfg/deep", deep)
    assert "cfg/deep" in str(exc) and "deeper" in str(exc)
    exc = raises(CBORError, main.transaction, lambda t: t.set("cfg/x", Thing()))
    assert "cfg/x" in str(exc)
    assert snapshot(repo) == before
    still_usable(repo)


def test_set_tree_needs_a_tree():
    repo, main = started()
    before = snapshot(repo)
    raises(TypeError, main.set_tree, "t", {"a": 1})
    assert snapshot(repo) == before
    still_usable(repo)


def test_transaction_arguments_are_checked():
    repo, main = started()
    before = snapshot(repo)
    raises(ValueError, main.transaction, lambda t: t.set("b", 2), "sometimes")
    raises(ValueError, main.with_tree, "cfg", lambda t: t, "never")
    assert snapshot(repo) == before
    still_usable(repo)


def test_a_write_that_changes_nothing_on_a_new_branch_makes_no_branch():
    from portable_core.missing import MISSING

    repo = new_repo()
    new = repo.branch("new")
    assert new.remove("") is None
    assert new.remove("a/b") is None
    assert new.test_and_set("a", MISSING, MISSING) is None
    assert new.head() is None and repo.branches() == []
    assert new.set("a", 1) is not None and repo.branches() == ["new"]
