"""Gathering a save image's pages for a dump: sorted by pfn, each pfn once, last copy wins.

A save image sends pages in stream order, unsorted, and re-sends pages dirtied during a live
save; a dump needs one ascending table.  Memory holds only a pfn-indexed array of page
locations (8 bytes per pfn up to the highest pfn seen, the same order as the guest's own p2m)
and, for dumps read back from dumps, a parallel gmfn array.  A page whose batch says where it
lies in a seekable input (``PageBatch.data_offset``) is located there and read back from the
input in pfn order, so no page is copied twice.  Other pages (from a pipe or a socket, or made up
by the reader) go, batch by batch as they arrive, to an unlinked
:class:`~xcformat.io.scratch.Scratch` file, at the cost of writing and reading them once more.
"""

from __future__ import annotations

import array
from collections.abc import Callable, Iterator

from ..errors import FormatError
from ..io import Source
from ..io.scratch import Scratch
from ..records import DATA_TYPES, PAGE_SIZE, PageBatch

#: pfns at or above this are refused (16 TiB of guest memory; keeps the location array bounded).
MAX_PFN = 1 << 32
#: A location is an input file offset (>= 0), a scratch offset ``o`` stored as ``~o`` (< 0),
#: or this for a pfn without data.
_ABSENT = -(1 << 63)

#: Fills a memoryview with the bytes at a file offset.
ReadAt = Callable[[int, memoryview], None]


class PageCollector:
    """Receives a save image's PageBatches and remembers, per pfn, where its last copy lies."""

    def __init__(self, p2m_size: int | None, reread: Source | None,
                 spill: Callable[[], Scratch]) -> None:
        self.limit = min(p2m_size, MAX_PFN) if p2m_size else MAX_PFN
        self.reread = reread if reread is not None and reread.seekable else None
        self._spill = spill
        self.scratch: Scratch | None = None
        self.locations = array.array("q")
        self.gmfns: array.array | None = None
        self.resent = 0
        self.spilled = 0   # pages that went to the scratch file

    def _grow(self, pfn: int) -> None:
        size = max(pfn + 1, 2 * len(self.locations), 1024)
        if self.gmfns is not None:
            self.gmfns.extend(range(len(self.locations), size))
        self.locations.extend(array.array("q", [_ABSENT]) * (size - len(self.locations)))

    def add(self, batch: PageBatch) -> None:
        """Point ``batch``'s data pages' pfns at their copy in the input or, where the input
        cannot be read again, at the copy this spills to the scratch file."""
        if batch.data_pages == 0:
            return
        if batch.data_offset is not None and self.reread is not None:
            where, step = batch.data_offset, PAGE_SIZE
        else:
            if self.scratch is None:
                self.scratch = self._spill()
            where, step = ~self.scratch.append(batch.data), -PAGE_SIZE
            self.spilled += batch.data_pages
        if batch.gmfns is not None and self.gmfns is None:
            self.gmfns = array.array("Q", range(len(self.locations)))
        for i, (pfn, kind) in enumerate(zip(batch.pfns, batch.types)):
            if kind not in DATA_TYPES:
                continue
            if not 0 <= pfn < self.limit:
                raise FormatError(f"pfn {pfn:#x} is beyond the guest's p2m size "
                                  f"{self.limit:#x}", field="pfn")
            if pfn >= len(self.locations):
                self._grow(pfn)
            if self.locations[pfn] != _ABSENT:
                self.resent += 1
            self.locations[pfn] = where
            if self.gmfns is not None:
                self.gmfns[pfn] = batch.gmfns[i] if batch.gmfns is not None else pfn
            where += step

    @property
    def count(self) -> int:
        """Distinct pfns with data: the dump's ``xch_nr_pages``."""
        return len(self.locations) - self.locations.count(_ABSENT)

    def sorted_entries(self, chunk: int = 4096) -> Iterator[tuple[list[int], list[int]]]:
        """(pfns, locations) in ascending pfn order, ``chunk`` pfns of the array at a time."""
        for start in range(0, len(self.locations), chunk):
            part = self.locations[start:start + chunk]
            pfns = [start + i for i, where in enumerate(part) if where != _ABSENT]
            if pfns:
                yield pfns, [self.locations[p] for p in pfns]

    def runs(self) -> Iterator[tuple[ReadAt, int, int]]:
        """The pages in ascending pfn order as (read, offset, pages): runs that lie back to back
        in one file, each to be read with one call."""
        reads = (self._read_input, self._read_scratch)
        spilled, at, n = False, 0, 0
        for _, locations in self.sorted_entries():
            for where in locations:
                here = where < 0
                offset = ~where if here else where
                if n and here is spilled and offset == at + n * PAGE_SIZE:
                    n += 1
                    continue
                if n:
                    yield reads[spilled], at, n
                spilled, at, n = here, offset, 1
        if n:
            yield reads[spilled], at, n

    def _read_input(self, offset: int, target: memoryview) -> None:
        self.reread.pread_into(offset, target, "page data")

    def _read_scratch(self, offset: int, target: memoryview) -> None:
        self.scratch.read_into(offset, target)

    def gmfn(self, pfn: int) -> int:
        """The machine frame recorded for ``pfn``, or ``pfn`` itself where none was recorded."""
        return self.gmfns[pfn] if self.gmfns is not None else pfn

    def close(self) -> None:
        """Delete the scratch file, if one was needed."""
        if self.scratch is not None:
            self.scratch.close()
            self.scratch = None
