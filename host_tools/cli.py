"""The ``sprig`` command line."""

import argparse
import sys

import portable_core


def build_parser():
    """Return the argument parser for ``sprig`` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="sprig",
        description="Sprig: a Git-like, branchable, mergeable store for MicroPython devices.",
    )
    parser.add_argument(
        "--version", action="version", version="sprig " + portable_core.__version__
    )
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv=None):
    """Run ``sprig`` with ``argv`` (default: the process arguments); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
