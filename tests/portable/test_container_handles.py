"""Containers on branches: concurrent updates on two branches merge the container's way."""

from portable_core.container_handles import Counter, Log, Register, Set
from portable_support import new_repo


def test_counter_across_branches():
    repo = new_repo()
    main = repo.main()
    boots = Counter(main, "stats/boots")
    assert boots.read() == 0
    assert boots.inc() == 1
    dev = main.clone("dev")
    dev_boots = Counter(dev, "stats/boots")
    dev_boots.inc(5)
    boots.inc(2)
    boots.dec()
    main.merge_with_branch("dev")
    assert boots.read() == 1 + 5 + 2 - 1


def test_counter_concurrent_writers_in_a_transaction():
    repo = new_repo()
    main = repo.main()
    c = Counter(main, "n")
    c.inc(10)

    def body(txn):
        v = txn.find("n")
        c.inc(3)  # another writer lands first
        txn.set("n", v + 1)

    main.transaction(body, "merge")
    assert c.read() == 14


def test_register_last_writer_wins():
    repo = new_repo()
    main = repo.main()
    reg = Register(main, "cfg/mode")
    assert reg.read("none") == "none"
    reg.write(1, "eco")
    dev = main.clone("dev")
    Register(dev, "cfg/mode").write(5, "fast")
    reg.write(3, "off")
    main.merge_with_branch("dev")
    assert reg.read() == "fast"


def test_log_keeps_every_append():
    repo = new_repo()
    main = repo.main()
    log = Log(main, "events")
    log.append(1, "boot")
    dev = main.clone("dev")
    Log(dev, "events").append(3, "dev-event")
    log.append(2, "main-event")
    main.merge_with_branch("dev")
    assert log.read() == ["boot", "main-event", "dev-event"]


def test_set_add_remove_merge():
    repo = new_repo()
    main = repo.main()
    tags = Set(main, "tags")
    tags.add("a")
    tags.add("b")
    dev = main.clone("dev")
    dev_tags = Set(dev, "tags")
    dev_tags.add("c")
    tags.remove("a")
    main.merge_with_branch("dev")
    assert tags.members() == ["b", "c"]
    assert tags.contains("c") and not tags.contains("a")
