"""Room on a full device (docs/DESIGN.md "A full device"): what a write does when
its batch would not leave room for a compaction. Functions of a ``FlashStore``
(``fs``), imported when a write first finds no room."""

from block_backend.errors import BadBlock, DeviceFull

ROOM = 2  # free blocks kept beyond a copy of the whole log (docs/DESIGN.md "A full device")


def fits(fs, need):
    """Return True when, after a batch of ``need`` blocks, a compaction could
    still copy the whole log (plus ``ROOM`` blocks) into the free blocks (log.py
    ``_write`` checks the same)."""
    return fs.free_blocks() - need >= fs.nlog + need + ROOM


def make_room(fs, need, ref):
    """Free blocks for a batch of ``need`` blocks (docs/DESIGN.md "A full
    device"): compact with ``keep``, then keeping only each ref's newest
    commit; a ref update (``ref``: ``(name, id or None)``) that still does not
    fit is done by that compaction itself (its snapshot holds the new ref:
    what a delete or branch removal frees is not copied). Return True when the
    write is done; raise DeviceFull when nothing helps (nothing changed)."""
    if drop_tail(fs) and fits(fs, need) and fs.free_blocks() - need >= fs._reserve():
        return False
    for keep in (-1, 1):  # -1: fs.keep
        if keep == 1 and fs.keep == 1:
            break
        try:
            compact(fs, keep)
        except DeviceFull:  # the copy did not fit (nothing changed): try less history
            continue
        if fits(fs, need):
            return False
    if ref is not None:
        name, oid = ref
        old = fs._refs.get(name)
        if oid is None:
            fs._refs.pop(name, None)
        else:
            fs._refs[name] = oid
        try:
            compact(fs, 1, True)
            fs._hold = False
            return True
        except DeviceFull:
            if old is None:
                fs._refs.pop(name, None)
            else:
                fs._refs[name] = old
            drop_uncommitted(fs)
            raise
    raise DeviceFull("device full: %d free blocks hold neither a batch of up to %d blocks "
                     "and a copy of the %d blocks of the log, nor a copy of the newest commits"
                     % (fs.free_blocks(), need, fs.nlog))


def compact(fs, keep, through=False):
    """Compact (``fs.compact``) into at most half the good blocks less ``ROOM``:
    what is left free can hold a copy of the new log, so a later write (a
    delete, a branch removal) can still compact. A larger copy raises DeviceFull
    (nothing changed)."""
    fs._cap = (fs.free_blocks() + fs.nlog - ROOM) // 2
    try:
        fs.compact(keep, through)
    finally:
        fs._cap = None


def drop_tail(fs):
    """Erase the blocks the open found wholly after the last commit point (an
    interrupted compaction's copies, an interrupted batch), newest first: each
    erase leaves a valid log. They hold nothing committed, and a compaction
    would need room to copy around them. Return True when blocks were freed.
    Only before the first write after the open (``_write`` forgets them: the
    head may hold new commits then)."""
    tail = getattr(fs, "_uncommitted", None)
    fs._uncommitted = None
    if not tail:
        return False
    bad = fs.bad_blocks()
    for b in reversed(tail):
        if fs._in_log(b) and b not in bad:
            try:
                fs._erase(b)
            except BadBlock:
                pass
    fs._cache.clear()
    fs._reset_head(fs.order[fs.nlog - 1])
    fs.head_sealed = True
    fs.dev.ioctl(3, 0)
    return True


def drop_uncommitted(fs):
    """Forget the objects of a write that failed for lack of room (pending in
    RAM, or flushed but not yet reached by a ref): the store is as before it,
    and the next batch does not carry them."""
    fs._pending = []
    fs._pending_bytes = 0
    fs._hold = False
    fs._orphans = None
    fs._absent = None
