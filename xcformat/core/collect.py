"""Gathering a save image's pages for a dump: sorted by pfn, each pfn once, last copy wins.

A save image sends pages in stream order, unsorted, and re-sends pages dirtied during a live
save; a dump needs one ascending table.  Memory holds only a pfn-indexed map of page
locations (8 bytes a pfn, in chunks allocated where pages are present: a page at pfn 0x0ffffffe
costs one chunk, not 2 GiB) and, for dumps read back from dumps, a parallel gmfn map.  A page whose batch says where it
lies in a seekable input (``PageBatch.data_offset``) is located there and read back from the
input in pfn order, so no page is copied twice.  Other pages (from a pipe or a socket, or made up
by the reader) go, batch by batch as they arrive, to an unlinked
:class:`~xcformat.io.scratch.Scratch` file, at the cost of writing and reading them once more.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator

from ..errors import FormatError
from ..io import Source
from ..io.scratch import Scratch
from ..pfnmap import PfnMap
from ..records import DATA_TYPES, PAGE_SIZE, PageBatch

#: pfns at or above this are refused (16 TiB of guest memory, the most a dump's table names).
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
        self.locations = PfnMap("q", _ABSENT)
        self.gmfns: PfnMap | None = None
        self.resent = 0
        self.spilled = 0   # pages that went to the scratch file

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
            chunk = self.locations.chunk_pfns
            self.gmfns = PfnMap("Q", lambda base: array("Q", range(base, base + chunk)))
        pfns, n = batch.pfns, len(batch.pfns)
        if batch.data_pages == n and pfns == tuple(range(pfns[0], pfns[0] + n)):
            self._add_run(pfns[0], n, where, step, batch.gmfns)   # the usual batch
            return
        for i, (pfn, kind) in enumerate(zip(pfns, batch.types)):
            if kind not in DATA_TYPES:
                continue
            self._check(pfn)
            if self.locations.swap(pfn, where) != _ABSENT:
                self.resent += 1
            if self.gmfns is not None:
                self.gmfns[pfn] = batch.gmfns[i] if batch.gmfns is not None else pfn
            where += step

    def _check(self, pfn: int) -> None:
        if not 0 <= pfn < self.limit:
            raise FormatError(f"pfn {pfn:#x} is beyond the guest's p2m size "
                              f"{self.limit:#x}", field="pfn")

    def _add_run(self, first: int, n: int, where: int, step: int, gmfns) -> None:
        """Pages of ``n`` consecutive pfns from ``first``, back to back from ``where``."""
        self._check(first)
        self._check(first + n - 1)
        old = self.locations.put_run(first, array("q", range(where, where + n * step, step)))
        self.resent += n - old.count(_ABSENT)
        if self.gmfns is not None:
            self.gmfns.put_run(first, array("Q", gmfns if gmfns is not None
                                            else range(first, first + n)))

    @property
    def count(self) -> int:
        """Distinct pfns with data: the dump's ``xch_nr_pages``."""
        return sum(len(part) - part.count(_ABSENT) for _, part in self.locations.chunks())

    def sorted_entries(self) -> Iterator[tuple[list[int], list[int]]]:
        """(pfns, locations) in ascending pfn order, one chunk of the map at a time."""
        for start, part in self.locations.chunks():
            held = [i for i, where in enumerate(part) if where != _ABSENT]
            if held:
                yield [start + i for i in held], [part[i] for i in held]

    def runs(self) -> Iterator[tuple[ReadAt, int, int]]:
        """The pages in ascending pfn order as (read, offset, pages): runs that lie back to back
        in one file, each to be read with one call."""
        reads = (self._read_input, self._read_scratch)
        spilled, at, n = False, 0, 0
        for _, part in self.locations.chunks():
            # A whole chunk of pages back to back (the usual case) is one step, not 512.
            first = part[0]
            step = -PAGE_SIZE if first < 0 else PAGE_SIZE
            whole = first != _ABSENT and part == array(
                "q", range(first, first + len(part) * step, step))
            for where in (first,) if whole else part:
                if where == _ABSENT:
                    continue
                here = where < 0
                offset = ~where if here else where
                size = len(part) if whole else 1
                if n and here is spilled and offset == at + n * PAGE_SIZE:
                    n += size
                    continue
                if n:
                    yield reads[spilled], at, n
                spilled, at, n = here, offset, size
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
