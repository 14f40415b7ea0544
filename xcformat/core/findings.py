"""Collecting a dump's validator findings as it is read.

Each check is reported with its number (``#27``, listed in :mod:`xcformat.core.checks`) so
a support engineer can look it up.  A problem that makes the rest unreadable is raised as a
:class:`~xcformat.errors.FormatError` instead; everything else is recorded and reading goes on.
"""

from __future__ import annotations

from ..errors import Finding
from ..io import Source


class Findings:
    """The findings of one dump, in the order they were made."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.items: list[Finding] = []

    def _add(self, level: str, check: int, message: str, offset: int | None,
             field: str | None) -> None:
        self.items.append(Finding(level, f"{message} (dump check #{check})", offset, field))

    def error(self, check: int, message: str, offset: int | None = None,
              field: str | None = None) -> None:
        """Record a finding that makes the dump invalid."""
        self._add("error", check, message, offset, field)

    def warn(self, check: int, message: str, offset: int | None = None,
             field: str | None = None) -> None:
        """Record something valid but suspicious, or mishandled by a known reader."""
        self._add("warning", check, message, offset, field)

    def info(self, check: int, message: str, offset: int | None = None,
             field: str | None = None) -> None:
        """Record something worth knowing and harmless."""
        self._add("info", check, message, offset, field)

    def fatal(self, check: int, message: str, offset: int | None = None,
              field: str | None = None):
        """The error to raise when ``message`` makes the rest of the dump unreadable."""
        return self.source.error(f"{message} (dump check #{check})", field, offset)
