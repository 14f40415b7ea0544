"""Byte-layout diagrams of a structure: a text ruler (spec/) and an SVG (the Sphinx site).

Both draw the same :class:`Row` list: eight bytes per row, one box per field; a field that fills
many whole rows keeps its first and last row and the rows between collapse into one; a field of
variable size is a band across the whole width, after which offsets restart relative to its end.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from .model import Field

WIDTH = 8  # bytes per row


@dataclass(frozen=True)
class Piece:
    column: int     #: first byte column
    width: int      #: in bytes
    label: str
    index: int      #: which field (colours alternate by it)


@dataclass(frozen=True)
class Row:
    kind: str                   #: "bytes", "variable" (a band) or "elided" (rows left out)
    offset: str = ""            #: offset of the row's first byte (of a band: where known)
    pieces: tuple[Piece, ...] = ()
    text: str = ""              #: the band's or the gap's text


def rows(fields: list[Field]) -> list[Row]:
    """The diagram rows of a structure's own (depth 0) fields."""
    out: list[Row] = []
    group: list[tuple[int, int, str, int]] = []   # (start, end, label, index) in one anchor's frame
    anchor: str | None = None
    for index, field in enumerate(f for f in fields if f.depth == 0):
        if field.offset.anchor != anchor:
            out += _group_rows(group, anchor)
            group, anchor = [], field.offset.anchor
        if field.size is None:
            out += _group_rows(group, anchor)
            group = []
            out.append(Row("variable", text=f"{field.path}: {_bytes(field.size_text)}"))
            anchor = f"end of {field.path}"
        elif field.size:
            start = field.offset.delta
            group.append((start, start + field.size, field.path, index))
    return out + _group_rows(group, anchor)


def _bytes(size_text: str) -> str:
    return f"{size_text} bytes" if not size_text.endswith(("variable", "input")) else size_text


def byte_rows(group: list[tuple[int, int, str, int]], anchor: str | None) -> list[Row]:
    """The rows of fields of known offsets and sizes: ``(start, end, label, index)`` each, in
    the frame of ``anchor`` (None: the start of the whole)."""
    return _group_rows(group, anchor)


def _group_rows(group: list[tuple[int, int, str, int]], anchor: str | None) -> list[Row]:
    if not group:
        return []
    last_row = (group[-1][1] - 1) // WIDTH
    out: list[Row] = []
    row = group[0][0] // WIDTH
    while row <= last_row:
        lo, hi = row * WIDTH, (row + 1) * WIDTH
        # A row inside one field (the field began on an earlier row and fills this one): the
        # rows up to the field's last full row collapse into one line saying how many bytes.
        inside = [g for g in group if g[0] < lo and g[1] >= hi]
        if inside:
            _, end, label, _ = inside[0]
            last_full = end // WIDTH - 1
            if last_full > row:
                out.append(Row("elided", text=f"{(last_full - row) * WIDTH} more bytes of {label}"))
                row = last_full
                lo, hi = row * WIDTH, (row + 1) * WIDTH
        pieces = tuple(Piece(max(s, lo) - lo, min(e, hi) - max(s, lo),
                             label if s >= lo else f"…{label}", i)
                       for s, e, label, i in group if s < hi and e > lo)
        offset = f"{lo:#06x}" if anchor is None else f"+{lo:#x}"
        out.append(Row("bytes", offset, pieces))
        row += 1
    return out


# -- text ---------------------------------------------------------------------------------------
CELL = 6  # characters per byte in the text ruler


def text(fields: list[Field]) -> str:
    """The text ruler (for a Markdown code block)."""
    return text_of_rows(rows(fields))


def text_of_rows(drawn: list[Row]) -> str:
    """The text ruler of rows made by :func:`rows` or :func:`byte_rows` and bands."""
    margin = " " * 8
    lines = [margin + "".join(f"{b:<{CELL}}" for b in range(WIDTH)).rstrip()]
    rule = margin + ("+" + "-" * (CELL - 1)) * WIDTH + "+"
    lines.append(rule)
    for row in drawn:
        if row.kind == "bytes":
            line = f"{row.offset:<7} "
            column = 0
            for piece in row.pieces:
                if piece.column > column:
                    line += "|" + " " * ((piece.column - column) * CELL - 1)
                room = piece.width * CELL - 1
                line += "|" + f"{_fit(piece.label, room):^{room}}"
                column = piece.column + piece.width
            lines.append(line + "|")
            lines.append(rule)
        elif row.kind == "variable":
            band = _fit(row.text, WIDTH * CELL - 3)
            lines.append(f"{row.offset:<7} " + f"~ {band} ~".center(WIDTH * CELL + 1, "~"))
            lines.append(rule)
        else:
            lines.append(margin + f": {row.text} :".center(WIDTH * CELL + 1).rstrip())
            lines.append(rule)
    return "\n".join(lines)


# -- SVG ----------------------------------------------------------------------------------------
BYTE_PX, ROW_PX, LEFT_PX, CHAR_PX = 64, 26, 64, 7
COLOURS = ("#dbe9f6", "#fbe3c8", "#d9f0d3", "#eadcf2", "#f6d8d8", "#fff2b3")


def svg(fields: list[Field], title: str) -> str:
    """The SVG drawing of the same rows (self-contained, no script, no external fonts)."""
    return svg_of_rows(rows(fields), title)


def svg_of_rows(drawn: list[Row], title: str) -> str:
    """The SVG drawing of rows made by :func:`rows` or :func:`byte_rows` and bands."""
    width = LEFT_PX + WIDTH * BYTE_PX + 2
    parts = []
    y = ROW_PX
    for b in range(WIDTH):
        parts.append(_text(LEFT_PX + b * BYTE_PX + BYTE_PX / 2, y - 8, str(b), "#666"))
    for row in drawn:
        if row.kind == "bytes":
            parts.append(_text(LEFT_PX - 6, y + ROW_PX / 2 + 4, row.offset, "#444", "end"))
            for piece in row.pieces:
                x = LEFT_PX + piece.column * BYTE_PX
                w = piece.width * BYTE_PX
                room = max(1, int(w / CHAR_PX) - 1)
                label = _fit(piece.label, room)
                parts.append(f'<g><title>{escape(piece.label)}</title>'
                             f'<rect x="{x}" y="{y}" width="{w}" height="{ROW_PX}" '
                             f'fill="{COLOURS[piece.index % len(COLOURS)]}" stroke="#333"/>'
                             + _text(x + w / 2, y + ROW_PX / 2 + 4, label) + "</g>")
        elif row.kind == "variable":
            parts.append(f'<rect x="{LEFT_PX}" y="{y}" width="{WIDTH * BYTE_PX}" '
                         f'height="{ROW_PX}" fill="#fff" stroke="#333" stroke-dasharray="6 4"/>')
            if row.offset:
                parts.append(_text(LEFT_PX - 6, y + ROW_PX / 2 + 4, row.offset, "#444", "end"))
            band = _fit(row.text, int(WIDTH * BYTE_PX / CHAR_PX) - 2)
            parts.append(f'<g><title>{escape(row.text)}</title>'
                         + _text(LEFT_PX + WIDTH * BYTE_PX / 2, y + ROW_PX / 2 + 4, band)
                         + "</g>")
        else:
            parts.append(_text(LEFT_PX + WIDTH * BYTE_PX / 2, y + ROW_PX / 2 + 4,
                               f"… {row.text} …", "#666"))
        y += ROW_PX
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y + 4}" '
            f'viewBox="0 0 {width} {y + 4}" role="img" aria-label={quoteattr(title)} '
            f'font-family="monospace" font-size="12">'
            f'<title>{escape(title)}</title>' + "".join(parts) + "</svg>")


def _fit(text: str, room: int) -> str:
    """``text`` cut to ``room`` characters, with an ellipsis where it was cut."""
    return text if len(text) <= room else text[:room - 1] + "…"


def _text(x: float, y: float, content: str, fill: str = "#000", anchor: str = "middle") -> str:
    return (f'<text x="{x:g}" y="{y:g}" fill="{fill}" text-anchor="{anchor}">'
            f'{escape(content)}</text>')
