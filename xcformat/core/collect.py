"""Gathering a save image's pages for a dump: sorted by pfn, each pfn once, last copy wins.

A save image sends pages in stream order, unsorted, and re-sends pages dirtied during a live
save; a dump needs one ascending table.  Memory holds only a pfn-indexed map of page
locations (8 bytes a pfn, in chunks allocated where pages are present: a page at pfn 0x0ffffffe
costs one chunk, not 2 GiB) and, for dumps read back from dumps, a parallel gmfn map.  The pages
themselves are kept in a :class:`~xcformat.io.spool.Spool`: where the reader said a batch's data
lies in the input (``PageBatch.data_offset``) only that offset, else a copy in a scratch file.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator

from ..errors import FormatError
from ..io.spool import ReadAt, Spool
from ..pfnmap import PfnMap
from ..records import DATA_TYPES, PAGE_SIZE, PageBatch

#: pfns at or above this are refused (16 TiB of guest memory, the most a dump's table names).
MAX_PFN = 1 << 32
#: A pfn's location: where the spool keeps its page, or this for a pfn without data.
_ABSENT = -(1 << 63)


class PageCollector:
    """Receives a save image's PageBatches and remembers, per pfn, where its last copy lies."""

    def __init__(self, p2m_size: int | None, spool: Spool) -> None:
        self.limit = min(p2m_size, MAX_PFN) if p2m_size else MAX_PFN
        self.spool = spool
        self.locations = PfnMap("q", _ABSENT)
        self.gmfns: PfnMap | None = None
        self.resent = 0

    def add(self, batch: PageBatch) -> None:
        """Point ``batch``'s data pages' pfns at where the spool keeps them."""
        if batch.data_pages == 0:
            return
        where = self.spool.keep(batch.data, batch.data_offset)
        step = Spool.after(where, PAGE_SIZE) - where
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
    def spilled(self) -> int:
        """Pages that had to be copied to the scratch file."""
        return self.spool.spilled // PAGE_SIZE

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
        after = Spool.after
        at, n = 0, 0          # the run gathered so far: its location and pages
        for _, part in self.locations.chunks():
            # A whole chunk of pages back to back (the usual case) is one step, not 512.
            first = part[0]
            step = after(first, PAGE_SIZE) - first
            whole = first != _ABSENT and part == array(
                "q", range(first, first + len(part) * step, step))
            for where in (first,) if whole else part:
                if where == _ABSENT:
                    continue
                size = len(part) if whole else 1
                if n and where == after(at, n * PAGE_SIZE):
                    n += size
                    continue
                if n:
                    yield *self.spool.where(at), n
                at, n = where, size
        if n:
            yield *self.spool.where(at), n

    def gmfn(self, pfn: int) -> int:
        """The machine frame recorded for ``pfn``, or ``pfn`` itself where none was recorded."""
        return self.gmfns[pfn] if self.gmfns is not None else pfn

    def close(self) -> None:
        """Delete the scratch file, if one was needed."""
        self.spool.close()
