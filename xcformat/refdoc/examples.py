"""The shell examples of the documentation, so the test suite can run them.

A ``.. code-block:: console`` block is a shell transcript: ``$ `` starts a command, ``> `` continues
it (as bash's second prompt does, e.g. for a here-document), and the lines up to the next command
are its expected output, where ``...`` stands for any text (doctest's ELLIPSIS) and runs of
whitespace compare equal.  Blocks in other languages are not run.  A page lists what its examples
need with ``.. xcformat-requires::``.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

_DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\.\. code-block:: console[ \t]*\n", re.M)
_REQUIRES = re.compile(r"^\s*\.\. xcformat-requires::[ \t]*(.+)$", re.M)


@dataclass(frozen=True)
class Example:
    command: str
    expected: str
    line: int       #: line of the command in the page


def requirements(text: str) -> list[str]:
    return [token for match in _REQUIRES.finditer(text) for token in match[1].split()]


def examples(text: str) -> list[Example]:
    """Every command of every console block of a reST page, in order."""
    out: list[Example] = []
    for match in _DIRECTIVE.finditer(text):
        start = match.end()
        block_indent = len(match["indent"])
        lines = text[start:].split("\n")
        body: list[str] = []
        for line in lines:
            if line.strip() and len(line) - len(line.lstrip()) <= block_indent:
                break
            body.append(line)
        first_line = text[:start].count("\n") + 1
        out += _session(textwrap.dedent("\n".join(body)).strip("\n").split("\n"),
                        first_line + _leading_blank(body))
    return out


def _leading_blank(body: list[str]) -> int:
    return next((i for i, line in enumerate(body) if line.strip()), 0)


def _session(lines: list[str], first_line: int) -> list[Example]:
    out: list[Example] = []
    command: list[str] = []
    expected: list[str] = []
    line_no = first_line

    def close():
        if command:
            out.append(Example("\n".join(command), "\n".join(expected), line_no))

    for number, line in enumerate(lines):
        if line.startswith("$ "):
            close()
            command, expected, line_no = [line[2:]], [], first_line + number
        elif command and not expected and (line.startswith("> ") or line == ">"):
            command.append(line[2:])
        elif command:
            expected.append(line)
        elif line.strip():
            raise ValueError(f"line {first_line + number}: console output before any command")
    close()
    return out


def pages(docs: Path) -> list[Path]:
    """The reST pages under ``docs`` that have console examples (generated pages excluded)."""
    return [p for p in sorted(docs.rglob("*.rst"))
            if "_build" not in p.parts and "formats" not in p.parent.parts
            and examples(p.read_text(encoding="utf-8"))]
