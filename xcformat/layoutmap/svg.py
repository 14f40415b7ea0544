"""The layout map as an SVG picture: the first blocks drawn to scale, then one row per entry
with the 4 KiB blocks around it, so a misaligned page run is visible at a glance."""

from __future__ import annotations

from xml.sax.saxutils import escape

from . import BLOCK, LayoutMap
from .text import fold_line, footer, head_picture, human

COLOURS = {"wrapper": "#c7c7c7", "header": "#8fb8de", "ext-info": "#b5d3ef", "p2m-frames": "#cfe0f1",
           "batch-header": "#f4b183", "padding": "#ffffff", "page-data": "#a9d18e",
           "chunk": "#ffd966", "tail": "#c9a0dc", "section": "#9dc3e6", "index": "#e2b0b0",
           "trailer": "#999999"}
WIDTH = 960
TEXT_PX = 560            # the text columns of a row
STRIP_PX = WIDTH - TEXT_PX - 10
STRIP_BLOCKS = 4         # blocks shown beside each row
ROW_PX = 20


def render(layout: LayoutMap, title: str) -> str:
    parts: list[str] = [_text(10, 20, title, weight="bold")]
    y = 34
    y = _head(layout, parts, y)
    y += 10
    parts.append(_text(10, y + 14, "offset", fill="#555") + _text(110, y + 14, "length", fill="#555")
                 + _text(190, y + 14, "kind / what", fill="#555")
                 + _text(TEXT_PX, y + 14, f"the {STRIP_BLOCKS} blocks from the one it starts in",
                         fill="#555"))
    y += ROW_PX
    for what, item in layout.entries():
        if what == "region":
            _region_row(item, parts, y)
        else:
            parts.append(f'<rect x="4" y="{y + 2}" width="{WIDTH - 8}" height="{ROW_PX - 4}" '
                         f'fill="#f2f2f2"/>' + _text(10, y + 14, fold_line(item).strip()))
        y += ROW_PX
    y += 6
    for line in footer(layout):
        parts.append(_text(10, y + 14, line))
        y += ROW_PX
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{y + 6}" '
            f'viewBox="0 0 {WIDTH} {y + 6}" font-family="monospace" font-size="12">'
            f'<rect width="100%" height="100%" fill="#fff"/>' + "".join(parts) + "</svg>")


def _head(layout: LayoutMap, parts: list[str], y: int) -> int:
    """The first blocks to scale, one band per block, block boundaries as the band edges."""
    blocks = len(head_picture(layout)) - 1
    parts.append(_text(10, y + 12, f"the first {blocks} blocks of 4 KiB, to scale:", fill="#555"))
    x = 330
    for kind in COLOURS:
        if kind in layout.head:
            parts.append(_rect(x, y + 2, 12, 12, kind, kind) + _text(x + 16, y + 12, kind))
            x += 28 + 7 * len(kind)
    y += 18
    per_block = BLOCK // layout.CELL
    cell_px = (WIDTH - 90) / per_block
    for block in range(blocks):
        parts.append(_text(10, y + 13, f"block {block}"))
        cells = layout.head[block * per_block:(block + 1) * per_block]
        start = 0
        for i in range(1, per_block + 1):   # one rectangle per run of equal cells
            if i == per_block or cells[i] != cells[start]:
                if cells[start]:
                    parts.append(_rect(80 + start * cell_px, y, (i - start) * cell_px, 16,
                                       cells[start], cells[start]))
                start = i
        parts.append(f'<rect x="80" y="{y}" width="{per_block * cell_px:g}" height="16" '
                     f'fill="none" stroke="#000"/>')
        y += 20
    return y


def _region_row(region, parts: list[str], y: int) -> None:
    skew = region.offset % BLOCK
    label = region.label if len(region.label) <= 38 else region.label[:37] + "…"
    parts.append(_text(10, y + 14, f"{region.offset:#x}") + _text(110, y + 14, human(region.length))
                 + _text(190, y + 14, f"{region.kind}: {label}"))
    window = STRIP_BLOCKS * BLOCK
    scale = STRIP_PX / window
    x0 = TEXT_PX + skew * scale
    visible = min(region.length, window - skew)
    width = max(visible * scale, 1.5)
    outline = ""
    if region.kind == "page-data":
        outline = "#2e7d32" if skew == 0 else "#c62828"
    parts.append(_rect(x0, y + 3, width, ROW_PX - 6, region.kind,
                       f"{region.kind} {region.offset:#x}+{region.length}", outline))
    if region.length > visible:
        parts.append(_text(TEXT_PX + STRIP_PX + 2, y + 14, "›", fill="#555"))
    for b in range(STRIP_BLOCKS + 1):
        x = TEXT_PX + b * BLOCK * scale
        parts.append(f'<line x1="{x:g}" y1="{y + 1}" x2="{x:g}" y2="{y + ROW_PX - 1}" '
                     f'stroke="#000" stroke-width="{1.5 if b == 0 else 0.6}"/>')


def _rect(x, y, w, h, kind, title, outline="") -> str:
    stroke = f' stroke="{outline}" stroke-width="2"' if outline else ' stroke="#555" stroke-width="0.5"'
    return (f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" '
            f'fill="{COLOURS.get(kind, "#eee")}"{stroke}><title>{escape(title)}</title></rect>')


def _text(x, y, content: str, fill: str = "#000", weight: str = "normal") -> str:
    return (f'<text x="{x:g}" y="{y:g}" fill="{fill}" font-weight="{weight}">'
            f'{escape(content)}</text>')
