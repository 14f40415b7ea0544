"""The ``.xen_p2m`` / ``.xen_pfn`` table: reading it in chunks, finding a page by pfn or gmfn,
and checking its contents (dump checks #46-#54).

The table is never loaded whole: chunks of :data:`CHUNK` entries are read with ``pread`` and cast
to u64 arrays.  A pfn is found by binary search (the table is sorted: dump check #46), a gmfn by scanning
the table (not the pages): the gmfn column has no order.
"""

from __future__ import annotations

import array
import bisect
from dataclasses import dataclass

from ..io import Source
from . import schema as s
from .findings import Findings

#: Entries per chunk (16 KiB of .xen_pfn, 32 KiB of .xen_p2m).
CHUNK = 2048
#: 52-bit physical addresses: frames at or above this are impossible on x86 (dump check #52).
MAX_FRAME = 1 << 40
_VGA_HOLE = range(0xA0, 0xC0)
_MMIO_HOLE = range(0xF0000, 0x100000)


@dataclass(frozen=True)
class Table:
    """The page table of a dump, read on demand."""

    source: Source
    offset: int
    count: int
    p2m: bool          #: True for .xen_p2m (pfn, gmfn) pairs, False for bare .xen_pfn

    @property
    def entry_size(self) -> int:
        """16 for ``.xen_p2m``, 8 for ``.xen_pfn``."""
        return 16 if self.p2m else 8

    def chunk(self, start: int, n: int) -> tuple[tuple[int, ...], tuple[int, ...] | None]:
        """Entries ``start .. start+n-1`` as (pfns, gmfns); gmfns is None for ``.xen_pfn``."""
        raw = self.source.pread(self.offset + start * self.entry_size, n * self.entry_size,
                                self.name)
        words = memoryview(raw).cast("Q")
        if not self.p2m:
            return tuple(words), None
        return tuple(words[0::2]), tuple(words[1::2])

    def chunks(self):
        """(start, pfns, gmfns) for the whole table, in order."""
        for start in range(0, self.count, CHUNK):
            yield (start, *self.chunk(start, min(CHUNK, self.count - start)))

    @property
    def name(self) -> str:
        """The section's name."""
        return s.SECTION_P2M if self.p2m else s.SECTION_PFN

    def pfn_at(self, index: int) -> int:
        """The pfn of entry ``index`` (one small read)."""
        return self.chunk(index, 1)[0][0]

    def find_pfn(self, pfn: int) -> int | None:
        """Index of ``pfn`` by binary search over the sorted table (O(log n) small reads)."""
        if pfn == s.INVALID:
            return None

        class Keys:   # a lazy sequence so bisect reads only the entries it probes
            def __len__(_):
                return self.count

            def __getitem__(_, i):
                return self.pfn_at(i)

        index = bisect.bisect_left(Keys(), pfn)
        return index if index < self.count and self.pfn_at(index) == pfn else None

    def find_gmfn(self, gmfn: int) -> int | None:
        """Index of the first entry backed by ``gmfn`` (a scan of the table, not the pages)."""
        if not self.p2m or gmfn == s.INVALID:
            return None
        for start, _, gmfns in self.chunks():
            try:
                return start + gmfns.index(gmfn)
            except ValueError:
                continue
        return None

    def last_valid(self) -> int | None:
        """Index of the last valid entry: valid entries precede the all-ones padding."""
        index = self.find_first_invalid()
        return index - 1 if index else None

    def find_first_invalid(self) -> int:
        """Index of the first padding entry (``count`` if none), assuming a sorted table."""
        lo, hi = 0, self.count
        while lo < hi:
            mid = (lo + hi) // 2
            if self.pfn_at(mid) == s.INVALID:
                hi = mid
            else:
                lo = mid + 1
        return lo


class TableChecker:
    """Feed it the table's chunks in order; it records the dump checks on the contents."""

    def __init__(self, table: Table, hvm: bool, findings: Findings,
                 roots: frozenset[int] = frozenset(), roots_are_pfns: bool = False) -> None:
        self.roots = roots                  #: page-table roots (cr3 frames) to look for, #58
        self.roots_are_pfns = roots_are_pfns
        self.found_roots: set[int] = set()
        self.table = table
        self.hvm = hvm
        self.findings = findings
        self.previous: int | None = None
        self.padding_seen: int | None = None
        self.valid = 0
        self.gmfns = array.array("Q")
        self._reported: set[int] = set()

    def _once(self, check: int, level: str, message: str, index: int, field: str) -> None:
        if check not in self._reported:
            self._reported.add(check)
            offset = self.table.offset + index * self.table.entry_size
            getattr(self.findings, level)(check, message, offset, field)

    def see(self, start: int, pfns, gmfns) -> None:
        """Check the entries ``start ..`` of one chunk."""
        name = self.table.name
        if self.roots:
            column = pfns if gmfns is None or self.roots_are_pfns else gmfns
            self.found_roots |= self.roots.intersection(column)
        for i, pfn in enumerate(pfns):
            index = start + i
            gmfn = gmfns[i] if gmfns is not None else None
            if pfn == s.INVALID or gmfn == s.INVALID:
                if gmfn is not None and (pfn != s.INVALID or gmfn != s.INVALID):
                    self._once(47, "error", f"entry {index} has only one half all-ones "
                                            f"(pfn {pfn:#x}, gmfn {gmfn:#x})", index, name)
                if self.padding_seen is None:
                    self.padding_seen = index
                continue
            self.valid += 1
            if self.padding_seen is not None:
                self._once(48, "warn", f"padding entry {self.padding_seen} comes before valid "
                                       f"entry {index} (libxc pads only at the end)", index,
                           name)
            if self.previous is not None and pfn <= self.previous:
                self._once(46, "error", f"entry {index}: pfn {pfn:#x} does not ascend (after "
                                        f"{self.previous:#x}); crash would read wrong pages",
                           index, f"{name}.pfn")
            self.previous = pfn
            if pfn in (0xFFFF_FFFF,) or gmfn == 0xFFFF_FFFF:
                self._once(50, "warn", f"entry {index} uses 0xffffffff, the 32-bit invalid "
                                       "marker", index, name)
            if pfn >= MAX_FRAME or (gmfn is not None and gmfn >= MAX_FRAME):
                self._once(52, "warn", f"entry {index}: frame beyond 52-bit physical "
                                       f"(pfn {pfn:#x}, gmfn {gmfn})", index, name)
            if self.hvm and (pfn in _VGA_HOLE or pfn in _MMIO_HOLE):
                self._once(53, "info", f"entry {index}: pfn {pfn:#x} lies in the VGA or MMIO "
                                       "hole, which libxc never dumps", index, f"{name}.pfn")
            if gmfn is not None:
                self.gmfns.append(gmfn)

    def finish(self) -> None:
        """Checks that need the whole table (#51, #54)."""
        name = self.table.name
        if self.valid == 0 and self.table.count:
            self.findings.warn(54, "every table entry is padding (all ones)", self.table.offset,
                               name)
        ordered = sorted(self.gmfns)
        for a, b in zip(ordered, ordered[1:]):
            if a == b:
                self.findings.warn(51, f"gmfn {a:#x} appears twice in .xen_p2m (machine-to-"
                                       "physical lookups are ambiguous)", self.table.offset,
                                   f"{name}.gmfn")
                break
