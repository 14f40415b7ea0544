"""Which parts of xcformat this build has, so docs and their example tests can say what is missing.

A requirement is ``"format:NAME"`` (a reader for the format), ``"writer:NAME"``, ``"command:NAME"``
(an ``xcformat`` subcommand) or ``"module:DOTTED.NAME"``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable


def _has_format(name: str) -> bool:
    from .. import formats

    return name in formats.registry()


def _has_writer(name: str) -> bool:
    from .. import formats

    fmt = formats.registry().get(name)
    return fmt is not None and fmt.writer is not None


def _has_command(name: str) -> bool:
    from ..cli import COMMANDS

    return name in COMMANDS


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


CHECKS = {"format": _has_format, "writer": _has_writer, "command": _has_command,
          "module": _has_module}


def missing(requirements: Iterable[str]) -> list[str]:
    """The requirements this build does not meet, in the order given."""
    out = []
    for requirement in requirements:
        kind, _, name = requirement.partition(":")
        if kind not in CHECKS or not name:
            raise ValueError(f"unknown requirement {requirement!r} (use {', '.join(CHECKS)}:NAME)")
        if not CHECKS[kind](name):
            out.append(requirement)
    return out


def describe(requirement: str) -> str:
    """A requirement in words: ``"command:page"`` → ``"the xcformat page command"``."""
    kind, _, name = requirement.partition(":")
    return {"format": f"the {name} format reader", "writer": f"the {name} format writer",
            "command": f"the xcformat {name} command", "module": f"the {name} module"}[kind]


def describe_all(requirements: list[str]) -> str:
    """Several requirements in words, joined with commas and a final "and"."""
    words = [describe(r) for r in requirements]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
