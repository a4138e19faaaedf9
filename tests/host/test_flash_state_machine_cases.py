"""Falsifying sequences the state machine (test_flash_state_machine.py) found,
replayed as plain deterministic tests: each rule, then the machine's invariant
(the store matches the model, takes a write, fsck is clean)."""

from test_flash_state_machine import FlashRepoMachine

from portable_core.conflict import MISSING


def replay(steps):
    m = FlashRepoMachine()
    m.start()
    m.matches_model_takes_a_write_and_is_clean()
    for rule, args in steps:
        getattr(m, rule)(*args)
        m.matches_model_takes_a_write_and_is_clean()
    return m


def test_a_full_device_after_history_cuts_accepts_the_delete_that_frees_it():
    # the fill was accepted by compactions whose snapshot held the new ref, until
    # the log took more than half the device: then the delete of f0 could not be
    # compacted (DeviceFull). A full device's compactions now leave room for a copy.
    m = replay([
        ("set_bad_path", ("main", ("a", ""), None)),
        ("compact", ()), ("compact", ()), ("compact", ()),
        ("set", ("feat/x", "a/a/a", None)),
        ("test_and_set", (0, "a", None)),
        ("compact", ()),
        ("set_bad_path", ("main", "/", None)),
        ("test_and_set", (0, "a", MISSING)),
        ("set_through_a_value", ("main", "a")),
        ("set_bad_info", ("main", "a/a", {"message": 5})),
        ("compact", ()),
        ("remove", (0, "a/a/a")),
        ("compact", ()),
        ("set", ("zz", "a", None)),
        ("set_nested", ("zz", "c", 793564.9799524824)),
        ("set_nested", ("feat/x", "c", False)),
        ("test_and_set", (10, "c/b/c", MISSING)),
        ("fill_the_device", (233,)),
    ])
    assert "fill" not in m.repo.branches()
    assert m.fs.free_blocks() >= m.fs.nlog  # a copy of the log fits in the free blocks
