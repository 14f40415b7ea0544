"""The ``xcformat`` command line.

Exit codes: 0 success; 1 invalid input or a failed check (the message names file, offset and
field); 2 a usage or environment error.  Bad input never shows a traceback; ``--debug`` does.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import sys
from collections.abc import Iterator

from .. import __version__
from ..errors import XcFormatError
from ..log import logger

#: Subcommand modules, each with ``add_parser(subparsers)``; the parser's ``run`` default does
#: the work and returns the exit code.
COMMANDS = ("info", "validate", "convert", "page", "map", "send", "receive")


def build_parser(commands: tuple[str, ...] = COMMANDS) -> argparse.ArgumentParser:
    """The parser for ``commands`` (all of them unless a caller knows which one will run)."""
    parser = argparse.ArgumentParser(
        prog="xcformat",
        description="Read, validate and convert Xen save images, migration streams and core dumps.")
    parser.add_argument("--version", action="version", version=f"xcformat {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in commands:
        importlib.import_module(f"{__name__}.{name}").add_parser(subparsers)
    return parser


def _chosen(argv: list[str]) -> tuple[str, ...]:
    """The command ``argv`` starts with, or every command (for top-level options such as
    ``--help``): importing only the one that runs keeps the others' dependencies (sockets, XML,
    the negotiation code) out of start-up."""
    return (argv[0],) if argv and argv[0] in COMMANDS else COMMANDS


class _OnStderr(logging.Handler):
    """Library messages as ``xcformat: MESSAGE`` lines on the standard error of the moment."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"xcformat: {record.getMessage()}", file=sys.stderr)


@contextlib.contextmanager
def _messages_on_stderr() -> Iterator[None]:
    handler, level = _OnStderr(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(_chosen(argv))
    args = parser.parse_args(argv)
    try:
        with _messages_on_stderr():
            return args.run(args)
    except XcFormatError as exc:
        if getattr(args, "debug", False):
            raise
        print(f"xcformat: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("xcformat: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
