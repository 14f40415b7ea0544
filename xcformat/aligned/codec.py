"""Turning aligned v1 bytes into records and back, for every record but page batches."""

from __future__ import annotations

import io

import construct as c

from ..errors import FormatError
from ..io import Source
from ..records import Record
from . import schema as s

#: What construct (or a text decode inside it) raises on bytes that break a structure.
_PARSE_ERRORS = (c.ConstructError, UnicodeDecodeError)


def parse_struct(struct: c.Construct, data, source: Source, offset: int, what: str,
                 exact: bool = True):
    """``struct`` parsed from ``data`` (found at ``offset``), or a located FormatError."""
    stream = io.BytesIO(data)
    try:
        value = struct.parse_stream(stream)
    except _PARSE_ERRORS as exc:
        raise source.error(f"bad {what}: {_describe(exc)}", _field(what, exc), offset) from None
    if exact and stream.tell() != len(data):
        raise source.error(f"{len(data) - stream.tell()} unexplained bytes at the end of {what}",
                           what, offset + stream.tell())
    return value


def _describe(exc: Exception) -> str:
    text = str(exc).split("\n")[-1]
    return text.split(") ", 1)[-1] if text.startswith("Error in path") else text


def _field(what: str, exc: Exception) -> str:
    path = getattr(exc, "path", None) or ""
    names = [part.strip() for part in path.split("->")[1:]]
    return ".".join([what, *names]) if names else what


def encode_record(record: Record) -> tuple[int, bytes]:
    """The record type and body of ``record`` (a non-batch record)."""
    number = s.TYPE_OF_CLASS.get(type(record))
    if number is None:
        raise FormatError(f"aligned v1 has no record type for {type(record).__name__}")
    _, struct = s.RECORD_BODIES[number]
    values = {name: getattr(record, name) for name in body_fields(struct)}
    try:
        return number, struct.build(values)
    except (c.ConstructError, UnicodeEncodeError, TypeError, ValueError) as exc:
        raise FormatError(f"cannot store {type(record).__name__} in aligned v1: "
                          f"{_describe(exc)}") from None


def decode_record(number: int, body, source: Source, offset: int) -> Record:
    cls, struct = s.RECORD_BODIES[number]
    value = parse_struct(struct, body, source, offset, cls.__name__)
    return cls(**{name: value[name] for name in body_fields(struct)})


def body_fields(struct: c.Construct) -> list[str]:
    """The field names of a v1 record body: the names of the record attributes it carries."""
    return [sub.name for sub in struct.subcons]


def record_bytes(number: int, body: bytes) -> bytes:
    """Header, body and zero padding to a multiple of 8."""
    head = s.RECORD_HEADER.build({"type": number, "flags": 0, "reserved": 0,
                                  "length": len(body)})
    return head + body + bytes(-len(body) % 8)
