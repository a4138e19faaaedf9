"""Paths in a tree: ``"a/b/c"`` or a tuple/list of steps, ``""`` / ``()`` being the
root. A step is checked by ``node.check_step`` (the node format bounds it)."""

from portable_core.node import check_step


def parse_path(path):
    """Return the tuple of validated steps of ``path`` (a ``"/"``-separated str or a
    tuple/list of steps); ValueError naming the path on a bad path or step."""
    if isinstance(path, str):
        if not path:
            return ()
        steps = path.split("/")
    elif isinstance(path, (tuple, list)):
        steps = path
    else:
        raise ValueError("a path is a str or a tuple/list of steps, got %r" % (path,))
    for step in steps:
        check_step(step, path)
    return tuple(steps)


def path_str(steps):
    """Return the ``"/"``-joined form of a tuple of steps."""
    return "/".join(steps)


def join(prefix, name):
    """Return the path ``name`` under the ``"/"``-joined path ``prefix``."""
    return prefix + "/" + name if prefix else name


def path_text(path):
    """Return the ``"/"``-joined text of ``path`` (str or steps), for messages and as
    the key of a path in a dict; ValueError naming the path if it is not a valid
    one (see ``parse_path``)."""
    return "/".join(parse_path(path))
