"""Gathering a save image's pages for a dump: sorted by pfn, each pfn once, last copy wins.

A save image sends pages in stream order, unsorted, and re-sends pages dirtied during a live
save; a dump needs one ascending table.  Page data therefore goes, batch by batch as it arrives,
to an unlinked :class:`~xcformat.io.scratch.Scratch` file; memory holds only a pfn-indexed array
of scratch slots (8 bytes per pfn up to the highest pfn seen, the same order as the guest's own
p2m) and, for dumps read back from dumps, a parallel gmfn array.  This works on pipes and
sockets as well as files, at the cost of writing and reading the pages once more.
"""

from __future__ import annotations

import array
from collections.abc import Iterator

from ..errors import FormatError
from ..io.scratch import Scratch
from ..records import DATA_TYPES, PAGE_SIZE, PageBatch

#: pfns at or above this are refused (16 TiB of guest memory; keeps the slot array bounded).
MAX_PFN = 1 << 32
_ABSENT = -1


class PageCollector:
    """Receives a save image's PageBatches and remembers, per pfn, where its last copy went."""

    def __init__(self, scratch: Scratch, p2m_size: int | None) -> None:
        self.scratch = scratch
        self.limit = min(p2m_size, MAX_PFN) if p2m_size else MAX_PFN
        self.slots = array.array("q")
        self.gmfns: array.array | None = None
        self.resent = 0

    def _grow(self, pfn: int) -> None:
        size = max(pfn + 1, 2 * len(self.slots), 1024)
        if self.gmfns is not None:
            self.gmfns.extend(range(len(self.slots), size))
        self.slots.extend(array.array("q", [_ABSENT]) * (size - len(self.slots)))

    def add(self, batch: PageBatch) -> None:
        """Spill ``batch``'s data pages to the scratch file and point their pfns at them."""
        if batch.data_pages == 0:
            return
        first = self.scratch.append(batch.data) // PAGE_SIZE
        if batch.gmfns is not None and self.gmfns is None:
            self.gmfns = array.array("Q", range(len(self.slots)))
        slot = first
        for i, (pfn, kind) in enumerate(zip(batch.pfns, batch.types)):
            if kind not in DATA_TYPES:
                continue
            if not 0 <= pfn < self.limit:
                raise FormatError(f"pfn {pfn:#x} is beyond the guest's p2m size "
                                  f"{self.limit:#x}", field="pfn")
            if pfn >= len(self.slots):
                self._grow(pfn)
            if self.slots[pfn] != _ABSENT:
                self.resent += 1
            self.slots[pfn] = slot
            if self.gmfns is not None:
                self.gmfns[pfn] = batch.gmfns[i] if batch.gmfns is not None else pfn
            slot += 1

    @property
    def count(self) -> int:
        """Distinct pfns with data: the dump's ``xch_nr_pages``."""
        return len(self.slots) - self.slots.count(_ABSENT)

    def sorted_entries(self, chunk: int = 4096) -> Iterator[tuple[list[int], list[int]]]:
        """(pfns, scratch slots) in ascending pfn order, ``chunk`` pfns of the array at a time."""
        for start in range(0, len(self.slots), chunk):
            part = self.slots[start:start + chunk]
            pfns = [start + i for i, slot in enumerate(part) if slot != _ABSENT]
            if pfns:
                yield pfns, [self.slots[p] for p in pfns]

    def gmfn(self, pfn: int) -> int:
        """The machine frame recorded for ``pfn``, or ``pfn`` itself where none was recorded."""
        return self.gmfns[pfn] if self.gmfns is not None else pfn
