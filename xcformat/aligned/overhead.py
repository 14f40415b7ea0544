"""Bytes each page-alignment approach spends per GiB of guest memory, for the rationale page.

The model guest: 1 GiB = 262144 pages, every page with data, pfns 0.., sent once in batches of
1024 (Xen's MAX_BATCH_SIZE).  Counted is everything in the file that is not page data and that
grows with memory (batch headers, padding, index), plus each format's fixed framing; the vCPU and
device state, the same in every format, is left out.  aligned v1 and legacy with XTAB fillers are
measured by running the real writers into a counting sink; the others are computed from the fact
sheets' layouts.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..formats import WriteOptions
from ..io import Sink
from ..records import PAGE_SIZE, End, GuestType, ImageHeader, PageBatch, Provenance

GIB_PAGES = (1 << 30) // PAGE_SIZE
BATCH = 1024


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True)
class Approach:
    name: str
    overhead: int         #: bytes per GiB
    aligned: str          #: are the pages 4096-aligned in the file?
    old_readers: str      #: what a Xen <= 4.5 legacy reader does with the file
    note: str


class _CountingSink(Sink):
    """A sink that only counts what it is given."""

    def __init__(self) -> None:
        super().__init__(-1, "<counting>", stream=True)

    def write(self, data, *, gather: bool = False) -> None:
        self.offset += len(data)


def _model_pages(pages: int, toolstack_bits: int = 64):
    """The model guest's header and page batches."""
    zeros = memoryview(bytes(BATCH * PAGE_SIZE))
    types = bytes(BATCH)
    yield ImageHeader(GuestType.HVM, pages, None, toolstack_bits, None, Provenance("model"))
    for first in range(0, pages, BATCH):
        n = min(BATCH, pages - first)
        yield PageBatch(tuple(range(first, first + n)), types[:n], zeros[:n * PAGE_SIZE])


def aligned_v1_bytes(pages: int = GIB_PAGES, index: bool = True) -> int:
    """Size of the aligned v1 file the real writer makes for the model guest."""
    from .writer import AlignedOptions, AlignedWriter

    sink = _CountingSink()
    options = WriteOptions(format_options=AlignedOptions(index=index))
    AlignedWriter(sink, options).write([*_model_pages(pages), End()])
    return sink.offset


def legacy_filler_overhead(pages: int = GIB_PAGES, toolstack_bits: int = 64) -> int:
    """Bytes other than page data that the real ``--to legacy --align`` writer puts before the
    end of the model guest's last batch, less the ``p2m_size`` word (which the rows for legacy
    as Xen writes it leave out too): batch heads, XTAB fillers and -9 pad chunks."""
    from ..legacy.writer import LegacyWriter

    sink = _CountingSink()
    # No End: the tail is the same in every format; the aligner hands out its last batch when
    # the records run out.
    LegacyWriter(sink, WriteOptions(align=True, say=lambda _: None)).write(
        _model_pages(pages, toolstack_bits))
    return sink.offset - pages * PAGE_SIZE - toolstack_bits // 8


def approaches(pages: int = GIB_PAGES) -> list[Approach]:
    data = pages * PAGE_SIZE
    batches = _ceil(pages, BATCH)
    # Legacy: i32 count + W-byte entries per batch (spec/legacy.md#batch_header_w64); the
    # XTAB-filler trick is in docs/reference/maps.rst.
    legacy = {w: batches * (4 + w * BATCH) for w in (4, 8)}
    # v2: 8-byte record header, u32 count + u32 reserved, u64 pfns (spec/v2.md#page-data).
    v2_plain = batches * (8 + 8 + 8 * BATCH)
    # v2 --align: 510-entry records have a 4096-byte head; the last one is filled up to 510
    # by re-sending pages so that its pages are aligned too.
    v2_records = _ceil(pages, 510)
    v2_aligned = v2_records * 4096 + (v2_records * 510 - pages) * PAGE_SIZE
    # QEMU migration/ram.c mapped_ram_setup_ramblock: packed 28-byte header, 1 bit per page in
    # unsigned longs, pages from the next 1 MiB boundary (a hole up to there).
    mapped_written = 28 + _ceil(pages, 64) * 8
    mapped_apparent = _ceil(mapped_written, 1 << 20) * (1 << 20)
    return [
        Approach("legacy as Xen writes it, 64-bit toolstack", legacy[8], "no (drifts +4 "
                 "bytes per batch)", "reads it", "also the layout of Xen's 2007 fix "
                 "(e0b421d242: posix_fadvise DONTNEED, no format change)"),
        Approach("legacy as Xen writes it, 32-bit toolstack", legacy[4], "no", "reads it", ""),
        Approach("legacy with XTAB fillers, 32-bit toolstack", legacy_filler_overhead(pages, 32),
                 "yes", "reads it (Xen's converter does; untested against a real restore)",
                 "1023-entry batches: a 4096-byte head each; measured from the writer"),
        Approach("legacy with XTAB fillers, 64-bit toolstack", legacy_filler_overhead(pages, 64),
                 "yes", "Xen <= 4.0 fails on the -9 chunk it needs; 4.1+ reads it",
                 "a 4-byte -9 chunk before each 1023-entry batch; measured from the writer"),
        Approach("migration v2 as Xen writes it", v2_plain, "no (drifts +16 bytes per record)",
                 "refuses (v2 header)", "needs Xen 4.6+"),
        Approach("migration v2 aligned by batch sizing", v2_aligned, "yes",
                 "refuses (v2 header)", "510-entry records, the last filled by re-sent pages"),
        Approach("QEMU mapped-ram (file size)", mapped_apparent, "yes", "n/a (QEMU only)",
                 f"{mapped_written} bytes written, the rest a hole before the 1 MiB boundary"),
        Approach("aligned v1 without index", aligned_v1_bytes(pages, index=False) - data, "yes",
                 "stops at once", "2 blocks of head per 1024-page batch, 4096-byte file header"),
        Approach("aligned v1 with index", aligned_v1_bytes(pages, index=True) - data, "yes",
                 "stops at once", "plus 4 bytes per pfn: one page by pfn in two small reads"),
    ]


def rst_table(pages: int = GIB_PAGES) -> str:
    """The table the rationale page includes (generated when the docs are built)."""
    rows = [("approach", "overhead bytes per GiB", "% of data", "pages 4096-aligned",
             "a Xen <= 4.5 reader", "note")]
    for a in approaches(pages):
        rows.append((a.name, f"{a.overhead:,}", f"{100 * a.overhead / (pages * PAGE_SIZE):.3f}",
                     a.aligned, a.old_readers, a.note or "-"))
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in rows:
        lines.append(f"   * - {row[0]}")
        lines.extend(f"     - {cell}" for cell in row[1:])
    return "\n".join(lines) + "\n"
