"""Turning aligned v1 bytes into records and back, for every record but page batches."""

from __future__ import annotations

import construct as c

from ..codec import BUILD_ERRORS, describe, parse_bytes
from ..errors import FormatError
from ..io import Source
from ..records import Record
from . import schema as s


def encode_record(record: Record) -> tuple[int, bytes]:
    """The record type and body of ``record`` (a non-batch record)."""
    number = s.TYPE_OF_CLASS.get(type(record))
    if number is None:
        raise FormatError(f"aligned v1 has no record type for {type(record).__name__}")
    _, struct = s.RECORD_BODIES[number]
    values = {name: getattr(record, name) for name in body_fields(struct)}
    try:
        return number, struct.build(values)
    except BUILD_ERRORS as exc:
        raise FormatError(f"cannot store {type(record).__name__} in aligned v1: "
                          f"{describe(exc)}") from None


def decode_record(number: int, body, source: Source, offset: int) -> Record:
    cls, struct = s.RECORD_BODIES[number]
    value = parse_bytes(struct, body, source, offset, cls.__name__)
    return cls(**{name: value[name] for name in body_fields(struct)})


def body_fields(struct: c.Construct) -> list[str]:
    """The field names of a v1 record body: the names of the record attributes it carries."""
    return [sub.name for sub in struct.subcons]


def record_bytes(number: int, body: bytes) -> bytes:
    """Header, body and zero padding to a multiple of 8."""
    head = s.RECORD_HEADER.build({"type": number, "flags": 0, "reserved": 0,
                                  "length": len(body)})
    return head + body + bytes(-len(body) % 8)
