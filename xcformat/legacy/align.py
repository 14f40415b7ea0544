"""The legacy stream's page-aligned variant (``--to legacy --align``): XTAB fillers.

A legacy batch is ``i32 n``, ``n`` W-byte entries, then one 4096-byte page per data-bearing
entry; nothing in the format pads, so pages drift off 4 KiB boundaries.  This
module re-batches the page records so that every batch's pages start at a 4096-aligned file
offset, by filling each batch's entry array with XTAB entries (exactly ``0xF0000000``), which
every legacy restorer skips and Xen's converter drops (docs/reference/maps.rst):

* W=4: a batch that starts aligned has 1023 entries (a 4096-byte head);
* W=8: ``4 + 8n`` is never a multiple of 8, so such a batch also gets a 4-byte ``-9`` chunk in
  front (``4 + 4 + 8 * 1023 = 8192``).  ``-9`` is idempotent for Xen 4.1+ restorers and ignored
  by convert-legacy-stream, but restorers up to 4.0 fail on it: such a file is for Xen 4.1+;
* a batch that starts elsewhere (the first one, or one after a chunk) gets the entry count, and
  for W=8 the ``-9``, that reach the next boundary.

Each batch carries as many real entries as fit; the last one before a chunk or the tail is
filled up with XTAB, so its pages are aligned too.  A batch is never all XTAB (the converter
would turn it into an empty PAGE_DATA record, which v2 restorers refuse).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from ..errors import UnsupportedError
from ..log import Say
from ..records import (PAGE_SIZE, Checkpoint, Opaque, PageBatch, Record,
                       Wrapper, data_page_count)
from . import wrappers
from .schema import MAX_BATCH

XTAB = 0xF


class AlignTarget(Protocol):
    """What re-cutting asks of the legacy writer it feeds (:class:`~.writer.LegacyWriter`)."""

    @property
    def next_offset(self) -> int:
        """The file offset of the next byte the writer writes."""

    @property
    def entry_bytes(self) -> int:
        """W, the width of a batch entry (known once the image header is written)."""

    def write_pad_chunks(self, count: int) -> None:
        """Write ``count`` 4-byte -9 chunks (LAST_CHECKPOINT) now."""


@dataclass(frozen=True)
class Plan:
    """How the batch that starts at a given offset reaches the next page boundary."""

    pad_chunks: int   #: 4-byte -9 chunks in front of the batch
    entries: int      #: entries in the batch, real ones and XTAB fillers

    def grown_to(self, limit: int, word: int) -> Plan:
        """The largest plan with the same pad and at most ``limit`` entries."""
        step = PAGE_SIZE // word
        return Plan(self.pad_chunks, self.entries + (limit - self.entries) // step * step)

    def shrunk_to(self, used: int, word: int) -> Plan:
        """The smallest plan with the same pad that still holds ``used`` entries (W=8: a
        head one page shorter holds 512 entries fewer)."""
        step = PAGE_SIZE // word
        return Plan(self.pad_chunks, self.entries - (self.entries - used) // step * step)


def plan(offset: int, word: int) -> Plan:
    """The largest batch (at most MAX_BATCH entries) starting at file ``offset`` whose pages
    start on a 4096-byte boundary.  ``word`` is the entry width W (4 or 8)."""
    if offset % 4:
        raise UnsupportedError(f"the legacy stream would start its batch at offset {offset}, "
                               "not a multiple of 4 (the wrapper's config length), so no "
                               "padding inside the stream can align its pages")
    gap = -(offset + 4) % PAGE_SIZE          # bytes of head wanted after the count
    pad_chunks = (gap // 4) % 2 if word == 8 else 0
    smallest = Plan(pad_chunks, (gap - 4 * pad_chunks) // word or PAGE_SIZE // word)
    return smallest.grown_to(MAX_BATCH, word)


def aligned_records(records: Iterable[Record], target: AlignTarget,
                    say: Say) -> Iterator[Record]:
    """``records`` with the page batches re-cut for ``target``, the legacy writer that consumes
    them (see the module doc)."""
    aligner = None
    for record in records:
        if isinstance(record, Wrapper):
            record = padded_wrapper(record, say)
        if aligner is None and isinstance(record, PageBatch):
            aligner = BatchAligner(target, say)
        if aligner is None:
            yield record
        elif isinstance(record, PageBatch):
            yield from aligner.take(record)
        else:
            yield from aligner.flush()
            aligner.check(record)
            yield record
    if aligner is not None:
        yield from aligner.flush()
        aligner.report()


def padded_wrapper(wrapper: Wrapper, say: Say) -> Wrapper:
    """``wrapper`` grown to a multiple of 4 bytes, so that the stream's items can reach a page
    boundary: xl ignores optional data after the config (RELEASE-4.5.0 tools/libxl/xl_cmdimpl.c,
    "skip tail, if not understood"), and xend's S-expression parser skips trailing blanks."""
    pad = -len(wrappers.encode(wrapper)) % 4
    if not pad:
        return wrapper
    say(f"--align: {pad} padding bytes added to the {wrapper.kind} wrapper")
    if wrapper.kind == "xl" and wrapper.fields.get("config_framed", True):
        fields = dict(wrapper.fields)
        fields["optional_tail"] = fields.get("optional_tail", b"") + bytes(pad)
        return dataclasses.replace(wrapper, fields=fields)
    return dataclasses.replace(wrapper, config=wrapper.config + b" " * pad)


class BatchAligner:
    """Holds at most one batch of entries (page data copied, since a record's data is only
    valid until the next record) and hands out batches whose head ends on a page boundary.

    ``target.next_offset`` is read when a batch is about to start, which is exact because the
    writer has written everything before it by then; the writer writes the ``-9`` pad chunks
    just before their batch is handed out.
    """

    def __init__(self, target: AlignTarget, say: Say):
        self.target = target
        self.word = word = target.entry_bytes
        self.say = say
        if word == 8:
            say("--align, 64-bit toolstack: a -9 chunk pads batches, which Xen 4.0 and older "
                "restorers refuse; the file is for Xen 4.1-4.5 and convert-legacy-stream")
        self.plan: Plan | None = None
        self._reset()
        self.batches = self.fillers = self.pad_chunks = self.dropped = 0

    def _reset(self) -> None:
        self.pfns: list[int] = []
        self.types = bytearray()
        self.data = bytearray()
        self.real: set[int] = set()
        self.plan = None

    def check(self, record: Record) -> None:
        """Refuse what the filler trick cannot carry (called for every non-page record)."""
        if isinstance(record, Opaque) and record.kind == "hvm-2007-tail":
            raise UnsupportedError("--align: the 2007 HVM layout has bare pfns and no XTAB "
                                   "type, so it has no filler entry")
        if isinstance(record, Checkpoint) and self.word == 8:
            raise UnsupportedError("--align with a 64-bit toolstack pads with chunk -9, which "
                                   "declares the last checkpoint: a checkpointed (Remus) stream "
                                   "cannot carry it (a 32-bit one needs no -9); write it "
                                   "without --align")

    def take(self, batch: PageBatch) -> Iterator[PageBatch]:
        pfns, types = batch.pfns, batch.types
        start = at = 0
        while start < len(pfns):
            if self.plan is None:
                self.plan = plan(self.target.next_offset, self.word)
            end = self._cut(pfns, types, start)
            if end == start:                  # full, or a pfn already in this batch
                yield from self.flush()
                continue
            pages = data_page_count(types[start:end])
            self.pfns.extend(pfns[start:end])
            self.types += types[start:end]
            self.data += batch.data[at:at + pages * PAGE_SIZE]
            start, at = end, at + pages * PAGE_SIZE

    def _cut(self, pfns, types, start: int) -> int:
        """Where the entries from ``start`` stop fitting into the batch being gathered."""
        end = min(len(pfns), start + self.plan.entries - len(self.pfns))
        for index in range(start, end):
            if types[index] != XTAB:
                if pfns[index] in self.real:
                    return index
                self.real.add(pfns[index])
        return end

    def flush(self) -> Iterator[PageBatch]:
        """The batch gathered so far, filled up with XTAB entries."""
        if not self.pfns:
            self.plan = None
            return
        if not self.real:
            # All XTAB: v2 restorers refuse what the converter makes of it, and legacy
            # restorers skip XTAB entries anyway.
            self.dropped += len(self.pfns)
            self._reset()
            return
        plan = self.plan.shrunk_to(len(self.pfns), self.word)
        fill = plan.entries - len(self.pfns)
        batch = PageBatch(tuple(self.pfns) + (0,) * fill, bytes(self.types) + bytes([XTAB]) * fill,
                          memoryview(self.data))
        self._reset()
        if plan.pad_chunks:
            self.target.write_pad_chunks(plan.pad_chunks)
        self.batches += 1
        self.fillers += fill
        self.pad_chunks += plan.pad_chunks
        yield batch

    def report(self) -> None:
        self.say(f"--align: {self.batches} batches with {self.fillers} XTAB fillers"
                 + (f" and {self.pad_chunks} -9 pad chunks" if self.word == 8 else "")
                 + (f"; left out {self.dropped} XTAB entries that would have made a batch of "
                    "their own" if self.dropped else ""))
