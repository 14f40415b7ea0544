"""The layout map of an image (``xcformat map``): where each structure lies, in constant memory.

A reader reports every structure it parses as a :class:`~xcformat.regions.Region`.  Regions are
grouped into *units*: a batch header with the padding and page data that follow it; otherwise
consecutive regions of one kind until one repeats the shape of a region already in the unit (so
each vCPU's context, extended context and xsave record in a tail form one unit).  Consecutive
units that look alike (same kinds, labels equal but for their numbers) are folded into one
:class:`Run` that keeps its first and last units verbatim and only counts and statistics for the
rest.  So a 1 TiB image of a million batches maps to a few dozen
entries, while a short image is shown region by region.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..regions import KINDS, Region

BLOCK = 4096
#: Kinds that belong to the unit opened by the batch header before them.
CONTINUATIONS = frozenset({"padding", "page-data"})
#: Units kept verbatim at each end of a run; the ones between are only counted.
KEPT = 2
#: The most regions one unit holds (a bound on memory whatever the labels).
MAX_UNIT = 64
_RANK = {"": -1, "page-data": 0, "padding": 1}   # others: 2
_NUMBER = re.compile(r"0x[0-9a-fA-F]+|\d+")


def shape(region: Region) -> tuple[str, str]:
    """A region's kind and label with its numbers blanked: what alike regions share."""
    return region.kind, _NUMBER.sub("#", region.label)


def signature(unit: tuple[Region, ...]) -> tuple:
    """What two units must share to be folded together."""
    return tuple(shape(r) for r in unit)


@dataclass
class PartStats:
    """One position of a run's units (e.g. "the page data"), over every unit of the run."""

    kind: str
    label: str                       #: the label with its numbers as "#"
    min_length: int
    max_length: int
    bytes: int = 0
    aligned: int = 0                 #: units where this part starts on a block boundary
    min_skew: int | None = None      #: least/greatest ``offset % BLOCK`` of the others
    max_skew: int | None = None

    def see(self, region: Region) -> None:
        self.min_length = min(self.min_length, region.length)
        self.max_length = max(self.max_length, region.length)
        self.bytes += region.length
        skew = region.offset % BLOCK
        if skew == 0:
            self.aligned += 1
        else:
            self.min_skew = skew if self.min_skew is None else min(self.min_skew, skew)
            self.max_skew = skew if self.max_skew is None else max(self.max_skew, skew)

    def as_json(self, count: int) -> dict:
        return {"kind": self.kind, "label": self.label, "min_length": self.min_length, "max_length": self.max_length,
                "bytes": self.bytes, "aligned": self.aligned, "misaligned": count - self.aligned,
                "min_misalignment": self.min_skew, "max_misalignment": self.max_skew}


@dataclass
class Run:
    """Consecutive alike units."""

    signature: tuple
    head: list[tuple[Region, ...]]           #: the first KEPT units
    tail: list[tuple[Region, ...]] = field(default_factory=list)   #: the last KEPT units after
    count: int = 0
    parts: list[PartStats] = field(default_factory=list)

    @classmethod
    def start(cls, unit: tuple[Region, ...]) -> Run:
        run = cls(signature(unit), [],
                  parts=[PartStats(r.kind, shape(r)[1], r.length, r.length) for r in unit])
        run.add(unit)
        return run

    def add(self, unit: tuple[Region, ...]) -> None:
        self.count += 1
        for part, region in zip(self.parts, unit):
            part.see(region)
        if len(self.head) < KEPT:
            self.head.append(unit)
        else:
            self.tail = (self.tail + [unit])[-KEPT:]

    @property
    def offset(self) -> int:
        return self.head[0][0].offset

    @property
    def end(self) -> int:
        last = (self.tail or self.head)[-1][-1]
        return last.offset + last.length

    @property
    def folded(self) -> int:
        """Units between head and tail that are only counted."""
        return self.count - len(self.head) - len(self.tail)

    def fold_span(self) -> tuple[int, int]:
        """``(offset, length)`` of the folded units."""
        start = self.head[-1][-1].offset + self.head[-1][-1].length
        return start, self.tail[0][0].offset - start


@dataclass
class Summary:
    regions: int = 0
    bytes_by_kind: Counter = field(default_factory=Counter)
    page_data_regions: int = 0
    page_data_aligned: int = 0       #: page-data regions that start on a block boundary
    pages: int = 0                   #: 4096-byte pages in page-data regions
    pages_aligned: int = 0           #: of those, pages that start on a block boundary
    gaps: list[tuple[int, int]] = field(default_factory=list)      #: first few (offset, length)
    gap_bytes: int = 0
    overlaps: int = 0
    end: int = 0                     #: end of the last region


class LayoutMap:
    """Feed it regions in file order (``reader.on_region = layout_map.add``), then :meth:`finish`.

    Holds at most ``max_entries`` runs (later ones are only counted, see ``not_itemised``), a
    handful of units per run, and a fixed-size picture of the first blocks.
    """

    HEAD_BLOCKS = 8          #: blocks the head picture covers
    CELL = 64                #: bytes per character of the head picture
    MAX_GAPS = 10
    REORDER = 64             #: regions held back to restore file order

    def __init__(self, max_entries: int = 500, at: int | None = None,
                 listener: Callable[[Region], None] | None = None):
        self.runs: list[Run] = []
        self.max_entries = max_entries
        self.not_itemised: Counter[str] = Counter()  # regions, bytes of runs beyond max_entries
        self.summary = Summary()
        self.size: int | None = None
        self.at = at
        self.found: Region | None = None    #: the region that holds offset ``at``
        self.head = [""] * (self.HEAD_BLOCKS * BLOCK // self.CELL)
        self._unit: list[Region] = []
        self._shapes: set[tuple[str, str]] = set()   # shapes of the regions in _unit
        self._run: Run | None = None
        self._pending: list[tuple[int, int, Region]] = []
        self._sequence = 0
        self._listener = listener           # sees every region, in file order

    # -- input ---------------------------------------------------------------------------------
    def add(self, region: Region) -> None:
        """Take the next region.  Readers report in file order, except where a format makes them
        read ahead (an ELF reader reads its section headers before the sections): a window of
        :attr:`REORDER` regions puts those back in order."""
        heapq.heappush(self._pending, (region.offset, self._sequence, region))
        self._sequence += 1
        if len(self._pending) > self.REORDER:
            self._take(heapq.heappop(self._pending)[2])

    def _take(self, region: Region) -> None:
        if self._listener is not None:
            self._listener(region)
        self._account(region)
        if self._unit and self._starts_unit(region):
            self._close_unit()
        self._unit.append(region)
        self._shapes.add(shape(region))

    def _starts_unit(self, region: Region) -> bool:
        first = self._unit[0]
        if first.kind in ("batch-header", "page-data"):
            return region.kind not in CONTINUATIONS
        return (region.kind != first.kind or shape(region) in self._shapes
                or len(self._unit) >= MAX_UNIT)

    def _account(self, region: Region) -> None:
        s = self.summary
        if region.offset > s.end:
            s.gap_bytes += region.offset - s.end
            if len(s.gaps) < self.MAX_GAPS:
                s.gaps.append((s.end, region.offset - s.end))
        elif region.offset < s.end:
            s.overlaps += 1
        s.end = max(s.end, region.offset + region.length)
        s.regions += 1
        s.bytes_by_kind[region.kind] += region.length
        if region.kind == "page-data":
            s.page_data_regions += 1
            s.pages += region.length // BLOCK
            if region.offset % BLOCK == 0:
                s.page_data_aligned += 1
                s.pages_aligned += region.length // BLOCK
        if self.at is not None and self.found is None and \
                region.offset <= self.at < region.offset + region.length:
            self.found = region
        self._paint(region)

    def _paint(self, region: Region) -> None:
        """Mark the head picture's cells that ``region`` overlaps, unless a region that matters
        more (a structure beats padding, padding beats page data) was there first."""
        first = region.offset // self.CELL
        last = min(len(self.head), -(-(region.offset + region.length) // self.CELL))
        rank = _RANK.get(region.kind, 2)
        for cell in range(first, last):
            if rank > _RANK.get(self.head[cell], 2) or not self.head[cell]:
                self.head[cell] = region.kind

    def _close_unit(self) -> None:
        unit = tuple(self._unit)
        self._unit = []
        self._shapes = set()
        if self._run is not None and self._run.signature == signature(unit):
            self._run.add(unit)
            return
        self._flush_run()
        self._run = Run.start(unit)

    def _flush_run(self) -> None:
        if self._run is None:
            return
        if len(self.runs) < self.max_entries:
            self.runs.append(self._run)
        else:
            self.not_itemised["runs"] += 1
            self.not_itemised["bytes"] += self._run.end - self._run.offset
        self._run = None

    def finish(self, size: int | None) -> LayoutMap:
        """Close the last unit; ``size`` is the file size where known (for the trailing gap)."""
        while self._pending:
            self._take(heapq.heappop(self._pending)[2])
        if self._unit:
            self._close_unit()
        self._flush_run()
        self.size = size
        return self

    # -- output --------------------------------------------------------------------------------
    def entries(self) -> Iterator[tuple[str, Any]]:
        """``("region", Region)`` and ``("fold", Run)`` items in file order."""
        for run in self.runs:
            for unit in run.head:
                for region in unit:
                    yield "region", region
            if run.folded:
                yield "fold", run
            for unit in run.tail:
                for region in unit:
                    yield "region", region

    def trailing(self) -> int:
        """Bytes after the last region that no region accounts for."""
        return max(0, (self.size or 0) - self.summary.end)

    def summary_json(self) -> dict:
        s = self.summary
        return {
            "regions": s.regions,
            "bytes_by_kind": dict(s.bytes_by_kind),
            "page_data": {"regions": s.page_data_regions, "aligned": s.page_data_aligned,
                          "misaligned": s.page_data_regions - s.page_data_aligned,
                          "pages": s.pages, "pages_aligned": s.pages_aligned},
            "unaccounted": {"gaps": [{"offset": o, "length": n} for o, n in s.gaps],
                            "gap_bytes": s.gap_bytes, "overlaps": s.overlaps,
                            "trailing_bytes": self.trailing()},
            "not_itemised": dict(self.not_itemised),
        }

    def as_json(self) -> dict:
        """The summarised regions.  The folded middle of a run is one entry of kind ``"repeat"``
        whose ``parts`` give lengths and alignment over all ``run_units`` units of the run."""
        regions = []
        for what, item in self.entries():
            if what == "region":
                regions.append(region_json(item))
            else:
                offset, length = item.fold_span()
                regions.append({"offset": offset, "length": length, "kind": "repeat",
                                "label": f"{item.folded} more units like the ones around it",
                                "count": item.folded, "run_units": item.count,
                                "parts": [p.as_json(item.count) for p in item.parts]})
        return {"block_size": BLOCK, "regions": regions, "summary": self.summary_json()}


def region_json(region: Region) -> dict:
    entry = {"offset": region.offset, "length": region.length, "kind": region.kind,
             "label": region.label}
    if region.kind == "page-data":
        entry["aligned"] = region.offset % BLOCK == 0
    return entry


__all__ = ["BLOCK", "KINDS", "LayoutMap", "PartStats", "Run", "Summary", "region_json", "shape",
           "signature"]
