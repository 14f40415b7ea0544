"""The pre-ELF core dump (format A, 2005 to 2007-02-24; spec/core.md#format-a-header; dump checks #59-#64).

Header, ``nr_vcpus`` contexts, an index of MFNs, zero padding to a page boundary, the pages.
Nothing records the toolstack width: the context size comes from the index offset and the index
entry width from the pages offset.

Format A has no pfns at all.  Records therefore number pages by their position in the file
(``pfns[i]`` = slot i) and carry the index's MFN in ``gmfns``; the header's provenance layout
is ``"format-a"`` so a converter knows the numbering is positional.
"""

from __future__ import annotations

import array
from collections.abc import Iterator
from typing import Any

from ..formats import Hints
from ..io import Source
from ..regions import Region, RegionSink
from ..records import (PAGE_SIZE, End, GuestType, ImageHeader, PageBatch, Provenance, Record,
                       VcpuContext)
from . import schema as s
from .findings import Findings

_CONTEXT_BITS = {s.CTX_X86_32: 32, s.CTX_X86_64: 64}
BATCH = 1024


def _round_page(n: int) -> int:
    return -(-n // PAGE_SIZE) * PAGE_SIZE


class FormatAReader:
    """Reader of pre-ELF dumps (format A)."""

    def __init__(self, source: Source, hints: Hints | None = None) -> None:
        self.source = source
        self._findings = Findings(source)
        self.on_region: RegionSink | None = None
        self.header: Any = None          # the parsed header (a construct container)

    @property
    def findings(self):
        """Warnings found while reading (errors are raised)."""
        return self._findings.items

    def _parse(self):
        source, findings = self.source, self._findings
        raw = source.read(24, "xc_core_header")
        if bytes(raw[:4]) in (b"\xf0\x0f\xeb\xed", b"\xf0\x0f\xeb\xee"):
            raise findings.fatal(64, "byte-swapped xc_core magic: no big-endian writer existed",
                                 0, "xch_magic")
        header = s.format_a_header.parse(raw)
        if self.on_region:
            self.on_region(Region(0, 24, "header", "xc_core_header (format A)"))
        if header.xch_magic not in s.MAGICS:
            raise findings.fatal(1, "not a core dump: neither ELF nor an xc_core magic "
                                    f"(first word {header.xch_magic:#x})", 0, "xch_magic")
        if header.xch_ctxt_offset != 24:
            raise findings.fatal(59, f"xch_ctxt_offset {header.xch_ctxt_offset}, expected 24",
                                 12, "xch_ctxt_offset")
        if header.xch_nr_vcpus == 0:
            raise findings.fatal(28, "xch_nr_vcpus is 0", 4, "xch_nr_vcpus")
        span = header.xch_index_offset - 24
        size = next((c for c in _CONTEXT_BITS if span == c * header.xch_nr_vcpus), None)
        if size is None:
            raise findings.fatal(60, f"index offset {header.xch_index_offset} is not 24 + "
                                     f"{header.xch_nr_vcpus} contexts of 2800 or 5168 bytes",
                                 16, "xch_index_offset")
        if header.xch_pages_offset % PAGE_SIZE:
            raise findings.fatal(61, f"pages offset {header.xch_pages_offset:#x} is not "
                                     "page-aligned", 20, "xch_pages_offset")
        widths = [e for e in (4, 8) if _round_page(header.xch_index_offset +
                                                   header.xch_nr_pages * e)
                  == header.xch_pages_offset]
        if not widths:
            raise findings.fatal(61, "no index entry width (4 or 8) fits the pages offset "
                                     f"{header.xch_pages_offset:#x}", 20, "xch_pages_offset")
        end = header.xch_pages_offset + header.xch_nr_pages * PAGE_SIZE
        if source.size is not None and source.size < end:
            raise findings.fatal(62, f"file is {source.size} bytes, the header implies {end}: "
                                     "a truncated dump", source.size, "pages")
        if source.size is not None and source.size > end:
            findings.warn(63, f"{source.size - end} bytes after the last page", end, "trailer")
        self.header, self.context_size, self.widths = header, size, widths

    def records(self) -> Iterator[Record]:
        """ImageHeader, a VcpuContext per context, PageBatches in file order, End."""
        self._parse()
        header, source = self.header, self.source
        guest = GuestType.HVM if header.xch_magic == s.MAGIC_HVM else GuestType.PV
        bits = _CONTEXT_BITS[self.context_size]
        yield ImageHeader(guest=guest, p2m_size=None, guest_bits=bits if guest is GuestType.PV
                          else None, toolstack_bits=bits,
                          provenance=Provenance("core", layout="format-a"))
        for i in range(header.xch_nr_vcpus):
            at = source.offset
            context = bytes(source.read(self.context_size, f"context[{i}]"))
            if self.on_region:
                self.on_region(Region(at, self.context_size, "section", f"context {i}"))
            yield VcpuContext(i, context)
        mfns = self._index()
        pad = header.xch_pages_offset - source.offset
        if self.on_region:
            self.on_region(Region(source.offset, pad, "padding", "padding before the pages"))
        source.skip(pad, "padding")
        for start in range(0, header.xch_nr_pages, BATCH):
            n = min(BATCH, header.xch_nr_pages - start)
            at = source.offset
            data = source.read(n * PAGE_SIZE, "pages")
            if self.on_region:
                self.on_region(Region(at, n * PAGE_SIZE, "page-data",
                                      f"pages[{start}..{start + n - 1}]"))
            yield PageBatch(tuple(range(start, start + n)), bytes(n), data,
                            tuple(mfns[start:start + n]), at)
        yield End()

    def _index(self) -> array.array:
        """The MFN index (8 or 4 bytes a page, as the guest's p2m would be): u64 since
        46c01e0595, the toolstack's unsigned long before."""
        header, source = self.header, self.source
        width = self.widths[0]
        if len(self.widths) == 2:
            # Both widths fit a small index (under a page of entries): crash's rule, 8-byte
            # entries have zero high halves.
            raw = source.peek(header.xch_nr_pages * 8)
            halves = memoryview(raw).cast("I")[1::2]
            width = 8 if not any(halves) else 4
        at = source.offset
        mfns = array.array("Q" if width == 8 else "I")
        for piece in source.chunks(header.xch_nr_pages * width, "index", step=1 << 20):
            mfns.frombytes(piece)
        if self.on_region:
            self.on_region(Region(at, header.xch_nr_pages * width, "index",
                                  f"MFN index ({width}-byte entries)"))
        self.index_width = width
        return mfns

    def summary(self) -> dict:
        """The header's facts for ``info``."""
        header = self.header
        return {"variant": "format-a", "magic": f"{header.xch_magic:#x}",
                "nr_vcpus": header.xch_nr_vcpus, "nr_pages": header.xch_nr_pages,
                "context_size": self.context_size, "index_entry_size": self.index_width}
