"""What the stream-order overview of a format page shows: each part's offset, size and presence,
the drawing of the whole stream, and a worked example.

Offsets are known while every part before is present once with a fixed size; after the first
part that is not, a part starts "after" the one before it, unless its declaration gives a
formula.  A part marked ``start`` (the stream proper, after a file wrapper) counts from 0 again.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..schema import Part, StreamOrder
from .diagram import Row, byte_rows

#: The anchor of offsets counted from a ``start`` part rather than from the file's first byte.
STREAM = "stream start"


@dataclass(frozen=True)
class PartRow:
    part: Part
    offset: str         #: where it starts
    size: str           #: its size in bytes, or how it is counted
    presence: str       #: when it is there and how often
    structure: tuple[str, str] | None   #: (format, key) of its documented structure


def rows(order: StreamOrder) -> list[PartRow]:
    out = []
    for part, (offset, _) in zip(order.parts, _positions(order.parts)):
        out.append(PartRow(part, offset, str(part.size), presence(part),
                           _structure(order, part)))
    return out


def presence(part: Part) -> str:
    return "; ".join(p for p in (part.when or "always", part.repeat) if p)


def counted_from(order: StreamOrder) -> str | None:
    """The part offsets count from, when it is not the first (a file wrapper comes before)."""
    return next((p.name for p in order.parts[1:] if p.start), None)


def drawing(order: StreamOrder) -> list[Row]:
    """The drawing's rows: the parts whose offset is known and size fixed as bytes, every other
    one as a band across the width, ``[in brackets]`` when it may be absent, with ``…`` when it
    repeats."""
    out: list[Row] = []
    group: list[tuple[int, int, str, int]] = []
    anchor = None
    for index, (part, (_, position)) in enumerate(zip(order.parts, _positions(order.parts))):
        if part.start and index:
            out += byte_rows(group, anchor)
            group, anchor = [], STREAM
        size = part.fixed_size
        if position is not None and size is not None:
            group.append((position, position + size, part.name, index))
            continue
        out += byte_rows(group, anchor)
        group = []
        label = part.name
        if len(str(part.size)) <= 24:
            label += f": {part.size}" + (" bytes" if isinstance(part.size, int) else "")
        if part.repeat:
            label += " …"
        where = "" if position is None else f"{position:#06x}" if anchor is None else f"+{position:#x}"
        out.append(Row("variable", where, text=f"[{label}]" if part.when else label))
    return out + byte_rows(group, anchor)


#: What the drawing's marks mean (shown under it).
DRAWING_KEY = "[ ]: present only sometimes; …: repeats; offsets on the left where they are fixed"


def _positions(parts: tuple[Part, ...]) -> list[tuple[str, int | None]]:
    """``(offset text, offset in bytes or None)`` of each part."""
    out: list[tuple[str, int | None]] = []
    position: int | None = 0
    for index, part in enumerate(parts):
        if part.start:
            position = 0
        if part.offset:
            text = part.offset
        elif position is not None:
            text = f"{position:#x}"
        else:
            text = f"after {parts[index - 1].name}"
        out.append((text, position))
        size = part.fixed_size
        position = position + size if position is not None and size is not None else None
    return out


def _structure(order: StreamOrder, part: Part) -> tuple[str, str] | None:
    if not part.structure:
        return None
    fmt, _, key = part.structure.rpartition("/")
    return fmt or order.format, key
