"""The ``xcformat`` command line.

Exit codes: 0 success; 1 invalid input or a failed check (the message names file, offset and
field); 2 a usage or environment error.  Bad input never shows a traceback; ``--debug`` does.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from .. import __version__
from ..errors import XcFormatError

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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        args = build_parser(_chosen(argv)).parse_args(argv)
        debug = getattr(args, "debug", False)
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


def _broken(exc: ImportError, *, debug: bool) -> int:
    """A module xcformat needs does not load (a dependency or a library it wraps is missing):
    an environment error."""
    if debug:
        raise exc
    print(f"xcformat: cannot load what it needs ({exc}); reinstall xcformat and its "
          f"dependencies", file=sys.stderr)
    return 2
