"""Finding one page by pfn in any image: the format's random access if it has one, else a scan.

The rule, for every format: the latest entry for a pfn wins; an entry with data gives the page,
BROKEN or XALLOC means the pfn has no data, XTAB is ignored (its pfn bits are junk in legacy
streams: spec/legacy.md, page batch header).  :mod:`xcformat.aligned.index` builds its index by the same rule.
"""

from __future__ import annotations

from .formats import Format, Hints, PageFound
from .io import Source
from .records import DATA_TYPES, PAGE_SIZE, PageBatch, PageType


def find_page(fmt: Format, source: Source, pfn: int, hints: Hints) -> PageFound:
    return find_pages(fmt, source, range(pfn, pfn + 1), hints)[pfn]


def find_pages(fmt: Format, source: Source, pfns: range, hints: Hints) -> dict[int, PageFound]:
    """The pages of ``pfns``, by the format's random access where it answers, else by one scan
    of the whole image for all of them (memory: the pages of ``pfns``)."""
    if fmt.page_lookup is not None:
        found = {}
        for pfn in pfns:
            if (page := fmt.page_lookup(source, pfn)) is None:
                break             # no random access here (no index, a pipe): scan
            found[pfn] = page
        else:
            return found
    return scan_for_pages(fmt, source, pfns, hints)


def scan_for_pages(fmt: Format, source: Source, pfns: range, hints: Hints
                   ) -> dict[int, PageFound]:
    """Read every record; keep a copy of the latest page of each of ``pfns``."""
    pages: dict[int, bytes | None] = dict.fromkeys(pfns)
    for record in fmt.reader(source, hints).records():
        if type(record) is not PageBatch or not record.pfns \
                or min(record.pfns) > pfns[-1] or max(record.pfns) < pfns[0]:
            continue
        nth = 0
        for entry_pfn, kind in zip(record.pfns, record.types):
            if entry_pfn in pfns and kind != PageType.XTAB:
                pages[entry_pfn] = (bytes(record.data[nth * PAGE_SIZE:(nth + 1) * PAGE_SIZE])
                                    if kind in DATA_TYPES else None)
            nth += kind in DATA_TYPES
    return {pfn: PageFound(page, None, "scan") for pfn, page in pages.items()}
