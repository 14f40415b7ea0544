"""The layout map as an SVG picture: the first blocks drawn to scale, then one row per entry
with the 4 KiB blocks around it, so a misaligned page run is visible at a glance.

Colours: Paul Tol's "muted" qualitative scheme (distinct for the common forms of colour
blindness, https://personal.sron.nl/~pault/), one colour per region kind; padding is white and
the wrapper and trailer greys.  Page data is outlined solid where it starts on a block boundary
and dashed where it does not, so alignment does not rest on colour alone.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from ..regions import KINDS
from . import BLOCK, LayoutMap
from .text import fold_line, footer, head_picture, human

COLOURS = {"wrapper": "#cccccc", "header": "#332288", "ext-info": "#88ccee",
           "p2m-frames": "#44aa99", "batch-header": "#ddcc77", "padding": "#ffffff",
           "page-data": "#117733", "chunk": "#cc6677", "tail": "#aa4499", "section": "#999933",
           "index": "#882255", "trailer": "#222222"}
ALIGNED_OUTLINE = "#0072b2"       # Okabe-Ito blue
MISALIGNED_OUTLINE = "#d55e00"    # Okabe-Ito vermillion, and dashed
CHAR_PX = 7.3            # advance of one character of the 12 px monospace font, with margin
MIN_WIDTH = 960
STRIP_PX = 390           # the blocks beside each row
STRIP_BLOCKS = 4         # blocks shown beside each row
ROW_PX = 20
KIND_X = 190             # where the "kind: what" column starts


def legend_kinds(layout: LayoutMap) -> list[str]:
    """Every kind of region in the whole image (not only in the blocks drawn), in the order of
    :data:`xcformat.regions.KINDS`."""
    present = {k for k, n in layout.summary.bytes_by_kind.items()} | {k for k in layout.head if k}
    return [k for k in KINDS if k in present] + sorted(present - set(KINDS))


def render(layout: LayoutMap, title: str) -> str:
    rows = list(layout.entries())
    labels = [f"{item.kind}: {item.label}" for what, item in rows if what == "region"]
    text_px = KIND_X + _width(max(labels, key=len, default="")) + 20
    lines = [title, *(fold_line(item).strip() for what, item in rows if what != "region"),
             *footer(layout)]
    width = max(MIN_WIDTH, text_px + STRIP_PX + 10, *(20 + _width(t) for t in lines))
    parts: list[str] = [_text(10, 20, title, weight="bold")]
    y = _legend(layout, parts, 34, width)
    y = _head(layout, parts, y, width)
    y += 10
    parts.append(_text(10, y + 14, "offset", fill="#555") + _text(110, y + 14, "length", fill="#555")
                 + _text(KIND_X, y + 14, "kind: what", fill="#555")
                 + _text(text_px, y + 14, f"the {STRIP_BLOCKS} blocks from the one it starts in",
                         fill="#555"))
    y += ROW_PX
    for what, item in rows:
        if what == "region":
            _region_row(item, parts, y, text_px)
        else:
            parts.append(f'<rect x="4" y="{y + 2}" width="{width - 8}" height="{ROW_PX - 4}" '
                         f'fill="#f2f2f2"/>' + _text(10, y + 14, fold_line(item).strip()))
        y += ROW_PX
    y += 6
    for line in footer(layout):
        parts.append(_text(10, y + 14, line))
        y += ROW_PX
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:g}" height="{y + 6}" '
            f'viewBox="0 0 {width:g} {y + 6}" font-family="monospace" font-size="12">'
            f'<rect width="100%" height="100%" fill="#fff"/>' + "".join(parts) + "</svg>")


def _width(text: str) -> float:
    return len(text) * CHAR_PX


def _legend(layout: LayoutMap, parts: list[str], y: int, width: float) -> int:
    """One swatch per kind of the image, wrapping onto more lines as the width requires."""
    x = 10.0
    for kind in legend_kinds(layout):
        step = 28 + _width(kind)
        if x + step > width:
            x, y = 10, y + 18
        parts.append(_rect(x, y + 2, 12, 12, kind, KINDS.get(kind, kind))
                     + _text(x + 16, y + 12, kind))
        x += step
    return y + 22


def _head(layout: LayoutMap, parts: list[str], y: int, width: float) -> int:
    """The first blocks to scale, one band per block, block boundaries as the band edges."""
    blocks = len(head_picture(layout)) - 1
    parts.append(_text(10, y + 12, f"the first {blocks} blocks of 4 KiB, to scale:", fill="#555"))
    y += 18
    per_block = BLOCK // layout.CELL
    cell_px = (width - 90) / per_block
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


def _region_row(region, parts: list[str], y: int, text_px: float) -> None:
    skew = region.offset % BLOCK
    parts.append(_text(10, y + 14, f"{region.offset:#x}") + _text(110, y + 14, human(region.length))
                 + _text(KIND_X, y + 14, f"{region.kind}: {region.label}"))
    window = STRIP_BLOCKS * BLOCK
    scale = STRIP_PX / window
    x0 = text_px + skew * scale
    visible = min(region.length, window - skew)
    width = max(visible * scale, 1.5)
    outline = ""
    if region.kind == "page-data":
        outline = ALIGNED_OUTLINE if skew == 0 else MISALIGNED_OUTLINE
    parts.append(_rect(x0, y + 3, width, ROW_PX - 6, region.kind,
                       f"{region.kind} {region.offset:#x}+{region.length}", outline,
                       dashed=bool(skew)))
    if region.length > visible:
        parts.append(_text(text_px + STRIP_PX + 2, y + 14, "›", fill="#555"))
    for b in range(STRIP_BLOCKS + 1):
        x = text_px + b * BLOCK * scale
        parts.append(f'<line x1="{x:g}" y1="{y + 1}" x2="{x:g}" y2="{y + ROW_PX - 1}" '
                     f'stroke="#000" stroke-width="{1.5 if b == 0 else 0.6}"/>')


def _rect(x, y, w, h, kind, title, outline="", dashed=False) -> str:
    if outline:
        stroke = f' stroke="{outline}" stroke-width="2"'
        stroke += ' stroke-dasharray="4 2"' if dashed else ""
    else:
        stroke = ' stroke="#555" stroke-width="0.5"'
    return (f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" '
            f'fill="{COLOURS.get(kind, "#eee")}"{stroke}><title>{escape(title)}</title></rect>')


def _text(x, y, content: str, fill: str = "#000", weight: str = "normal") -> str:
    return (f'<text x="{x:g}" y="{y:g}" fill="{fill}" font-weight="{weight}">'
            f'{escape(content)}</text>')
