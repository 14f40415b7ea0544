"""Offsets of named fields inside fixed-size construct structures.

Readers pick single fields (cr3, gdt_ents, ...) out of large structures at offsets computed here
from the schema, and decode them with the field's own construct, so neither an offset nor a
width is written down twice.
"""

from __future__ import annotations

import functools

import construct


def _unwrap(con: construct.Construct) -> construct.Construct:
    """The construct under any naming/doc wrappers (``"name" / X * "doc"`` nests two)."""
    while isinstance(con, construct.Renamed):
        con = con.subcon
    return con


def _fields(con: construct.Construct) -> list[construct.Construct]:
    con = _unwrap(con)
    if not isinstance(con, construct.Struct):
        raise KeyError(f"{con!r} has no named fields")
    return list(con.subcons)


def field_offset(struct: construct.Construct, path: str) -> int:
    """Byte offset of ``path`` (dotted, e.g. ``"user_regs.rdx"``; ``"ctrlreg.3"`` indexes an
    array) inside the fixed-size ``struct``."""
    return _field(struct, path)[0]


def field_value(struct: construct.Construct, data, path: str):
    """The value of field ``path`` in ``data``, bytes laid out as ``struct``."""
    offset, con = _field(struct, path)
    return con.parse(bytes(data[offset:offset + con.sizeof()]))


def set_field(struct: construct.Construct, buf: bytearray, path: str, value) -> None:
    """Store ``value`` in field ``path`` of ``buf``, bytes laid out as ``struct``."""
    offset, con = _field(struct, path)
    buf[offset:offset + con.sizeof()] = con.build(value)


@functools.cache
def _field(struct: construct.Construct, path: str) -> tuple[int, construct.Construct]:
    offset = 0
    con = struct
    for part in path.split("."):
        if part.isdigit():
            inner = _unwrap(con)
            if not isinstance(inner, construct.Array):
                raise KeyError(f"{path}: {part} indexes something that is not an array")
            offset += int(part) * inner.subcon.sizeof()
            con = inner.subcon
            continue
        for sub in _fields(con):
            if sub.name == part:
                con = sub
                break
            offset += sub.sizeof()
        else:
            raise KeyError(f"{path}: no field {part!r}")
    return offset, con
