"""The one exception hierarchy of xcformat.

Every failure caused by the input or the environment is an :class:`XcFormatError`; the CLI turns
them into one-line messages and exit codes.  Anything else escaping a reader is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass


class XcFormatError(Exception):
    """Base of every error xcformat raises on purpose."""

    exit_code = 1


class FormatError(XcFormatError):
    """The bytes break the format: names the file, the offset and the field."""

    def __init__(self, message: str, *, file: str | None = None, offset: int | None = None,
                 field: str | None = None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.offset = offset
        self.field = field

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(str(self.file))
        if self.offset is not None:
            where.append(f"offset {self.offset:#x}")
        if self.field is not None:
            where.append(f"field {self.field}")
        return (": ".join(where) + ": " if where else "") + self.message


class TruncatedError(FormatError):
    """The input ended inside a structure."""


class UnsupportedError(XcFormatError):
    """Valid input, or a valid request, that xcformat does not handle (yet or on purpose)."""


class NegotiationError(XcFormatError):
    """Two peers found no format both accept."""


class PeerError(XcFormatError):
    """The other end of a connection hung up, timed out or broke the protocol."""


class EnvironmentProblem(XcFormatError):
    """The machine or the command line, not the input, is at fault (exit code 2)."""

    exit_code = 2


def naming_the_input(exc: FormatError | UnsupportedError, input_name: str) -> XcFormatError:
    """A writer's complaint about the records it was given, naming the file they came from.

    Writers see records, not files: "v2 cannot carry ...", or a pfn beyond p2m_size that the
    reader let through, is about the input, and the one-line message must say which file.
    """
    if isinstance(exc, FormatError):
        if exc.file is None:
            exc.file = input_name
        return exc
    if input_name in str(exc):
        return exc
    return UnsupportedError(f"{input_name}: {exc}")


@dataclass(frozen=True)
class Finding:
    """One observation of a validator.

    ``level`` is ``"error"`` (the input is invalid), ``"warning"`` (valid but suspicious, or
    something a known reader mishandles) or ``"info"``.
    """

    level: str
    message: str
    offset: int | None = None
    field: str | None = None

    @classmethod
    def of(cls, error: FormatError) -> Finding:
        """An error finding for ``error``."""
        return cls("error", error.message, error.offset, error.field)

    def describe(self, file: str | None = None) -> str:
        return str(FormatError(self.message, file=file, offset=self.offset, field=self.field))

    def as_json(self) -> dict[str, object]:
        return {"level": self.level, "offset": self.offset, "field": self.field,
                "message": self.message}


def recover(error: FormatError, findings: list[Finding], keep_going: bool) -> None:
    """A problem after which the framing still says where the next structure starts: with
    ``keep_going`` (a validator reporting every problem) it becomes an error finding and
    reading goes on; otherwise it is raised, so that nothing is built from a broken input."""
    if not keep_going or isinstance(error, TruncatedError):
        raise error       # a cut input has nothing after the cut to read on to
    findings.append(Finding.of(error))
