"""A tiny image format for testing format-neutral machinery (map, docs examples) on real files.

Layout: ``b"TOYMAP\\0\\0"``, u32 batch count, u32 aligned flag; per batch a u32 page count and
that many u64 pfns, zero padding to the next 4096 boundary when aligned, then the pages; finally
``b"END\\0"``.  Its reader reports a :class:`~xcformat.regions.Region` for every part.
"""

from __future__ import annotations

import struct

import pytest

from xcformat import formats
from xcformat.formats import Capabilities, Format, Sniffed
from xcformat.regions import Region
from xcformat.records import End, GuestType, ImageHeader, PageBatch

MAGIC = b"TOYMAP\0\0"
PAGE = 4096


def build(pages_per_batch: list[int], aligned: bool) -> bytes:
    out = bytearray(MAGIC + struct.pack("<II", len(pages_per_batch), aligned))
    pfn = 0
    for count in pages_per_batch:
        out += struct.pack(f"<I{count}Q", count, *range(pfn, pfn + count))
        if aligned:
            out += bytes(-len(out) % PAGE)
        for _ in range(count):
            out += (pfn & 0xFF).to_bytes(1, "little") * PAGE
            pfn += 1
    return bytes(out + b"END\0")


class ToyReader:
    def __init__(self, source, hints):
        self.source = source
        self.findings = []
        self.on_region = None

    def _region(self, offset, kind, label):
        if self.on_region is not None:
            self.on_region(Region(offset, self.source.offset - offset, kind, label))

    def records(self):
        src = self.source
        start = src.offset
        src.read(8, "magic")
        batches, aligned = struct.unpack("<II", src.read(8, "header"))
        self._region(start, "header", "toy header")
        yield ImageHeader(GuestType.HVM, None)
        for number in range(batches):
            start = src.offset
            (count,) = struct.unpack("<I", src.read(4, f"batch {number}.count"))
            pfns = tuple(src.read(8 * count, f"batch {number}.pfns").cast("Q"))
            self._region(start, "batch-header", f"batch {number} ({count} pages)")
            if aligned and src.offset % PAGE:
                start = src.offset
                src.skip(-src.offset % PAGE, f"batch {number}.padding")
                self._region(start, "padding", f"batch {number} padding")
            start = src.offset
            data = src.read(PAGE * count, f"batch {number}.pages")
            self._region(start, "page-data", f"batch {number} pages")
            yield PageBatch(pfns, bytes(count), data)
        start = src.offset
        src.read(4, "end")
        self._region(start, "trailer", "end marker")
        yield End()

    def summary(self):
        return {}


def sniff(head: bytes):
    return Sniffed("toy", True, "magic") if head.startswith(MAGIC) else None


FORMAT = Format("toy", "test-only toy image format", sniff, ToyReader,
                capabilities=Capabilities(noun="toy images"))


@pytest.fixture
def toy_format(monkeypatch):
    """Make the toy format known to the CLI, beside the real ones (import this fixture)."""
    known = {**formats.registry(), "toy": FORMAT}
    monkeypatch.setattr(formats, "registry", lambda: known)
    return FORMAT
