"""The layout map as text for a terminal."""

from __future__ import annotations

from . import BLOCK, LayoutMap, Run
from ..regions import Region
from ..units import binary as human

#: One letter per region kind in the picture of the first blocks.
LETTERS = {"wrapper": "W", "header": "H", "ext-info": "E", "p2m-frames": "F",
           "batch-header": "B", "padding": ".", "page-data": "P", "chunk": "C", "tail": "T",
           "section": "S", "index": "I", "trailer": "X", "": " "}


#: Parts of a batch unit, named by kind in a fold line (other parts by their label).
BATCH_KINDS = frozenset({"batch-header", "padding", "page-data"})


def render(layout: LayoutMap, title: str) -> str:
    s = layout.summary
    lines = [f"{title}: {s.regions} regions, {human(s.end)} mapped; 4 KiB blocks", ""]
    lines += head_picture(layout)
    lines += ["", f"{'offset':>12}  {'block+skew':>12}  {'length':>9}  {'kind':<13} what"]
    for what, item in layout.entries():
        lines.append(_region(item) if what == "region" else fold_line(item))
    lines.append("")
    lines += footer(layout)
    return "\n".join(lines)


def alignment(region: Region) -> str:
    if region.kind != "page-data":
        return ""
    skew = region.offset % BLOCK
    return "  [aligned]" if skew == 0 else f"  [MISALIGNED +{skew:#x}]"


def _region(region: Region) -> str:
    block, skew = divmod(region.offset, BLOCK)
    return (f"{region.offset:#12x}  {f'{block}+{skew:#x}':>12}  {human(region.length):>9}  "
            f"{region.kind:<13} {region.label}{alignment(region)}")


def fold_line(run: Run) -> str:
    shape = " + ".join(
        f"{p.kind if p.kind in BATCH_KINDS else p.label} {human(p.min_length)}"
        + (f"…{human(p.max_length)}" if p.max_length != p.min_length else "")
        for p in run.parts)
    text = f"{'…':>12}  {run.folded} more like these: {shape}"
    for part in run.parts:
        if part.kind == "page-data":
            text += f"; page data aligned in {part.aligned} of {run.count}"
            if part.min_skew is not None:
                text += f", misaligned by +{part.min_skew:#x}…+{part.max_skew:#x}"
    return text


def head_picture(layout: LayoutMap) -> list[str]:
    per_block = BLOCK // layout.CELL
    used = max((i for i, kind in enumerate(layout.head) if kind), default=-1) + 1
    blocks = -(-used // per_block)
    kinds = sorted({k for k in layout.head if k}, key=list(LETTERS).index)
    legend = ", ".join(f"{LETTERS[k]} {k}" for k in kinds)
    out = [f"first {blocks} blocks, one character = {layout.CELL} bytes ({legend}):"]
    for block in range(blocks):
        cells = layout.head[block * per_block:(block + 1) * per_block]
        out.append(f"  block {block:>2} |{''.join(LETTERS.get(k, '?') for k in cells)}|")
    return out


def footer(layout: LayoutMap) -> list[str]:
    s = layout.summary
    out = [f"page data: {s.page_data_regions} regions, {s.page_data_aligned} start on a block "
           f"boundary; {s.pages_aligned} of {s.pages} pages aligned"]
    problems = []
    if s.gap_bytes:
        problems.append(f"{human(s.gap_bytes)} in gaps, the first at {s.gaps[0][0]:#x}")
    if s.overlaps:
        problems.append(f"{s.overlaps} regions overlap the one before")
    if layout.trailing():
        problems.append(f"{human(layout.trailing())} after the last region")
    if problems:
        out.append("not accounted for: " + "; ".join(problems))
    if layout.not_itemised:
        out.append(f"{layout.not_itemised['runs']} further runs "
                   f"({human(layout.not_itemised['bytes'])}) counted but not listed")
    return out
