"""The ``xcformat`` command line.

Exit codes: 0 success; 1 invalid input or a failed check (the message names file, offset and
field); 2 a usage or environment error.  Bad input never shows a traceback; ``--debug`` does.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .. import __version__
from ..errors import XcFormatError
from ..log import logger

if TYPE_CHECKING:
    from .common import Report

# What the commands need (the I/O layer, cffi) is imported inside the functions: a broken
# installation must reach main's error handling, not fail at import with a traceback.

#: Subcommand modules.  Each says what it does (``HELP``, the one line of the command list, and
#: ``DESCRIPTION``, the paragraph of its ``--help``, or None), adds its options to its parser
#: (``add_arguments``) and does the work (``run(args)``, returning the exit code).
COMMANDS = ("info", "validate", "convert", "page", "map", "send", "receive", "save", "restore",
            "dump", "completion")


def build_parser(commands: tuple[str, ...] = COMMANDS) -> argparse.ArgumentParser:
    """The parser for ``commands`` (all of them unless a caller knows which one will run)."""
    parser = argparse.ArgumentParser(
        prog="xcformat",
        description="Read, validate and convert Xen save images, migration streams and core dumps.")
    parser.add_argument("--version", action="version", version=f"xcformat {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in commands:
        command = importlib.import_module(f"{__name__}.{name}")
        sub = subparsers.add_parser(name, help=command.HELP, description=command.DESCRIPTION)
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def subcommand(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    """The parser of subcommand ``name`` inside ``parser``."""
    action = next(a for a in parser._subparsers._group_actions  # argparse keeps them there
                  if a.dest == "command")
    choices: dict[str, argparse.ArgumentParser] = action.choices  # type: ignore[assignment]
    return choices[name]


def common_options(command: str = "info") -> list[tuple[str, str]]:
    """``(invocation, help)`` of each option every command shares, as ``--help`` shows them
    (but ``--json``, whose help says what that command prints)."""
    from .common import COMMON_OPTIONS

    parser = subcommand(build_parser((command,)), command)
    group = next(g for g in parser._action_groups if g.title == COMMON_OPTIONS)
    formatter = parser._get_formatter()
    return [(formatter._format_action_invocation(action), formatter._expand_help(action))
            for action in group._group_actions if action.dest != "json"]


def _chosen(argv: list[str]) -> tuple[str, ...]:
    """The command ``argv`` starts with, or every command (for top-level options such as
    ``--help``): importing only the one that runs keeps the others' dependencies (sockets, XML,
    the negotiation code) out of start-up."""
    return (argv[0],) if argv and argv[0] in COMMANDS else COMMANDS


class _ToReport(logging.Handler):
    """Library messages (the ``xcformat`` logger) to the command's report: standard error
    unless ``--quiet``, and the ``--json`` summary."""

    def __init__(self, report: Report):
        super().__init__()
        self.report = report

    def emit(self, record: logging.LogRecord) -> None:
        self.report.say(record.getMessage())


@contextlib.contextmanager
def _messages_to(report: Report) -> Iterator[None]:
    handler, level = _ToReport(report), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    restore = None
    try:
        from ..io import set_notice_handler
        from .common import Report

        parser = build_parser(_chosen(argv))
        args, unknown = parser.parse_known_args(argv)
        if unknown:  # the subcommand's usage, not the list of commands, says what it takes
            subcommand(parser, args.command).error(
                f"unrecognized arguments: {' '.join(unknown)}")
        debug = getattr(args, "debug", False)
        args.report = Report(getattr(args, "quiet", False))
        previous = set_notice_handler(args.report.say)
        restore = lambda: set_notice_handler(previous)  # noqa: E731
        with _messages_to(args.report):
            code = args.run(args)
        sys.stdout.flush()   # a closed pipe shows here, not in the interpreter's exit
        return code
    except ImportError as exc:
        return _broken(exc, debug=debug)
    except XcFormatError as exc:
        if debug:
            raise
        print(f"xcformat: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("xcformat: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Standard output's reader left (``| head``): end quietly, as cat does; the descriptor
        # is pointed at /dev/null so the interpreter's last flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 2
    finally:
        if restore is not None:
            restore()


def _broken(exc: ImportError, *, debug: bool) -> int:
    """A module xcformat needs does not load (a dependency or a library it wraps is missing):
    an environment error."""
    if debug:
        raise exc
    print(f"xcformat: cannot load what it needs ({exc}); reinstall xcformat and its "
          f"dependencies", file=sys.stderr)
    return 2
