"""Splitting a page batch that names a pfn twice into batches that do not.

A v2 PAGE_DATA record may send one pfn twice, the last copy winning (v2 ``--align`` pads tiny
guests that way); a legacy restorer takes a batch's pages as a set and our reader rejects a
repeated pfn (legacy sheet §11).  XTAB entries do not count: their pfns may be junk (§2.5).
"""

from __future__ import annotations

from collections.abc import Iterator

from ..records import DATA_TYPES, PAGE_SIZE, PageBatch, PageType

_XTAB = PageType.XTAB


def without_repeats(batch: PageBatch) -> Iterator[PageBatch]:
    """``batch`` itself, or consecutive parts of it in order, none naming a pfn twice."""
    real = [p for p, t in zip(batch.pfns, batch.types) if t != _XTAB]
    if len(set(real)) == len(real):
        yield batch
        return
    start = first_page = page = 0
    seen: set[int] = set()
    for i, (pfn, kind) in enumerate(zip(batch.pfns, batch.types)):
        if kind != _XTAB and pfn in seen:
            yield _part(batch, start, i, first_page, page)
            start, first_page = i, page
            seen.clear()
        if kind != _XTAB:
            seen.add(pfn)
        page += kind in DATA_TYPES
    yield _part(batch, start, len(batch.pfns), first_page, page)


def _part(batch: PageBatch, lo: int, hi: int, first_page: int, end_page: int) -> PageBatch:
    gmfns = batch.gmfns[lo:hi] if batch.gmfns is not None else None
    return PageBatch(batch.pfns[lo:hi], batch.types[lo:hi],
                     batch.data[first_page * PAGE_SIZE:end_page * PAGE_SIZE], gmfns)
