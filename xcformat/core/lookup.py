"""``xcformat page`` on a dump: the pfn found by binary search in the sorted table, then one
read of the page (no scan).  Format A has no pfns, so it is left to the generic scan."""

from __future__ import annotations

from ..formats import PageFound
from ..io import Source
from . import schema as s
from .dump import open_dump
from .findings import Findings


def lookup(source: Source, pfn: int) -> PageFound | None:
    """The page of ``pfn`` (None data if the dump lacks it); None for format A or a pipe."""
    if not source.seekable or source.peek(4) != s.ELF_MAGIC:
        return None
    dump = open_dump(source, Findings(source))
    how = f"binary search in {dump.table.name}"
    index = dump.table.find_pfn(pfn)
    if index is None:
        return PageFound(None, None, how)
    return PageFound(dump.page_at(index), dump.pages.offset + index * dump.notes.page_size, how)
