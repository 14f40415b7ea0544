"""Reading and building declared structures, with every error located at the schema path.

The format packages declare each structure once in their ``schema.py``; the readers and writers
parse and build through these functions, so the bytes they handle are the bytes the reference
documents.  Constraints live on the fields themselves (:func:`Valid`): a reader gets them with
the parse, and keeps only the rules that span the stream.  Page data never passes through here.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable

import construct as c

from .errors import FormatError
from .io import Source

#: What construct (or a text decode inside it) raises on bytes that break a structure.
PARSE_ERRORS = (c.ConstructError, UnicodeDecodeError)
#: What building a structure from the wrong values raises.
BUILD_ERRORS = (c.ConstructError, UnicodeEncodeError, TypeError, ValueError, KeyError)


class Invalid(c.ValidationError):
    """A field's declared constraint failed; ``at`` is the field's position in the stream."""

    def __init__(self, message: str, path: str, at: int):
        super().__init__(message, path)
        self.at = at


#: Constraint levels: a FATAL value breaks what follows (a count, a length: the parse stops); a
#: PROBLEM is a wrong value of fixed size, after which a validator may note it and read on.
FATAL = "fatal"
PROBLEM = "problem"


class Validated(c.Subconstruct):
    """A field with a declared constraint (made by :func:`Valid`)."""

    def __init__(self, subcon, predicate, message, level):
        super().__init__(subcon)
        self.predicate = predicate
        self.message = message
        self.level = level

    def _parse(self, stream, context, path):
        at = c.stream_tell(stream, path)
        value = self.subcon._parsereport(stream, context, path)
        if not self.predicate(value, context):
            error = Invalid(self.message.format(value=value, this=context), path, at)
            report = context._params.get("report") if self.level == PROBLEM else None
            if report is None:
                raise error
            report(error)
        return value

    def _build(self, obj, stream, context, path):
        return self.subcon._build(obj, stream, context, path)


def Valid(subcon: c.Construct, predicate, message: str, level: str = FATAL) -> c.Construct:
    """``subcon``, whose parsed value must satisfy ``predicate(value, context)``.

    ``message`` is formatted with ``value`` and ``this`` (the enclosing struct's fields so far)
    when it does not; the reader's error then names the field and its offset.  A ``PROBLEM``
    goes to the ``report`` the reader passed to :func:`read` (which may note it and let the
    parse go on); without one, and at ``FATAL``, the parse stops.  Building does not check:
    writers state what they write from records.
    """
    return Validated(subcon, predicate, message, level)


def parse_bytes(struct: c.Construct, data, source: Source, offset: int, what: str,
                exact: bool = True):
    """``struct`` parsed from ``data`` (found at ``offset``), or a located FormatError."""
    stream = io.BytesIO(data)
    value = _parse(struct, stream, source, offset, what)
    if exact and stream.tell() != len(data):
        raise source.error(f"{len(data) - stream.tell()} unexplained bytes at the end of {what}",
                           what, offset + stream.tell())
    return value


class _SourceStream:
    """The file-object face of a :class:`Source`, for construct; reads name ``what``."""

    def __init__(self, source: Source, what: str):
        self._source, self._what, self._start = source, what, source.offset

    def read(self, n: int) -> bytes:
        return bytes(self._source.read(n, self._what))

    def tell(self) -> int:
        return self._source.offset - self._start


def read(struct: c.Construct, source: Source, what: str,
         report: Callable[[FormatError], None] | None = None):
    """``struct`` parsed from ``source`` at its offset (which it advances past it).

    ``report`` receives each failed ``PROBLEM`` constraint as a located FormatError; it may
    raise it, or note it and return to let the parse go on.
    """
    return _parse(struct, _SourceStream(source, what), source, source.offset, what, report)


def _parse(struct: c.Construct, stream, source: Source, offset: int, what: str,
           report: Callable[[FormatError], None] | None = None):
    def located(exc: Invalid) -> FormatError:
        return source.error(describe(exc), field(what, exc), offset + exc.at)

    context = {} if report is None else {"report": lambda exc: report(located(exc))}
    try:
        return struct.parse_stream(stream, **context)
    except Invalid as exc:
        raise located(exc) from None
    except PARSE_ERRORS as exc:
        raise source.error(f"bad {what}: {describe(exc)}", field(what, exc), offset) from None


def build(struct: c.Construct, values, what: str) -> bytes:
    """The bytes of ``struct`` holding ``values``, or a FormatError naming ``what``."""
    try:
        return struct.build(values)
    except BUILD_ERRORS as exc:
        raise FormatError(f"cannot write {what}: {describe(exc)}", field=what) from None


def describe(exc: Exception) -> str:
    """The message of a construct error without its path prefix."""
    text = str(exc).split("\n")[-1]
    return text.split(") ", 1)[-1] if text.startswith("Error in path") else text


def field(what: str, exc: Exception) -> str:
    """``what`` and the construct path of ``exc`` as one dotted field name."""
    path = getattr(exc, "path", None) or ""
    names: list[str] = []
    for part in path.split("->")[1:]:
        # A documented field ("name" / X * "doc") is two renames: its name comes twice.
        if not names or names[-1] != part.strip():
            names.append(part.strip())
    return ".".join([what, *names]) if names else what


@functools.cache
def head(struct: c.Struct, last: str) -> c.Struct:
    """The fields of ``struct`` up to and including ``last``: the part a reader parses before
    it moves the rest (a pfn array, page data) in bulk or checks it against the stream."""
    names = [sub.name for sub in struct.subcons]
    return c.Struct(*struct.subcons[:names.index(last) + 1])
