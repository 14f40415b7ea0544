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
    if fmt.page_lookup is not None:
        found = fmt.page_lookup(source, pfn)
        if found is not None:
            return found
    return scan_for_page(fmt, source, pfn, hints)


def scan_for_page(fmt: Format, source: Source, pfn: int, hints: Hints) -> PageFound:
    """Read every record; keep a copy of the latest page of ``pfn``."""
    page = None
    for record in fmt.reader(source, hints).records():
        if type(record) is not PageBatch or pfn not in record.pfns:
            continue
        nth = 0
        for entry_pfn, kind in zip(record.pfns, record.types):
            if entry_pfn == pfn and kind != PageType.XTAB:
                page = (bytes(record.data[nth * PAGE_SIZE:(nth + 1) * PAGE_SIZE])
                        if kind in DATA_TYPES else None)
            nth += kind in DATA_TYPES
    return PageFound(page, None, "scan")
