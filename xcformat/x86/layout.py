"""Offsets of named fields inside fixed-size construct structures.

Readers pick single fields (cr3, gdt_ents, ...) out of large structures with ``struct.unpack_from``
at offsets computed here from the schema, so no offset is written down twice.
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


@functools.cache
def field_offset(struct: construct.Construct, path: str) -> int:
    """Byte offset of ``path`` (dotted, e.g. ``"user_regs.rdx"``; ``"ctrlreg.3"`` indexes an
    array) inside the fixed-size ``struct``."""
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
    return offset
