"""aligned v1 -> records, streaming, with the strict checks ``validate`` reports.

Yields exactly the records the writer was given (page data as views into the source's window),
so converting back goes through the source format's own writer.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import Finding, FormatError, TruncatedError, UnsupportedError, recover
from ..formats import Hints
from ..io import Source
from ..io.source import MAX_READ
from ..regions import Region, RegionSink
from ..entries import split_typed
from ..kinds import region_of
from ..records import (INVALID_TYPES, PAGE_SIZE, End, ImageHeader, PageBatch, Record,
                       data_page_count)
from . import schema as s
from ..codec import parse_bytes
from .codec import decode_record, loaded_batch
from .index import IndexBuilder, check_against, index_length

_TRAILER = s.TRAILER.sizeof()
_ENTRY_SIZES = (4, 8)


class AlignedReader:
    def __init__(self, source: Source, hints: Hints | None = None):
        self.source = source
        self._hints = hints or Hints()
        self.findings: list[Finding] = []
        self.on_region: RegionSink | None = None
        #: Report a record that breaks the format and read on at the next one (its length
        #: still frames it); a validator sets it, converters never do.
        self.keep_going = False
        self._header: Any = None          # the parsed file header (a construct container)
        self._index = IndexBuilder()
        self._index_offset = 0
        self._image_header: ImageHeader | None = None
        self._batches = 0
        self._pages = 0
        self._records = 0
        self._dispatch = {s.TYPE_BATCH: self._batch, s.TYPE_INDEX: self._index_record,
                          s.TYPE_END: self._end}

    # -- the stream -----------------------------------------------------------------------
    def records(self) -> Iterator[Record]:
        src = self.source
        self._header = self._file_header()
        self._region(0, s.BLOCK, "header", "aligned v1 file header")
        while True:
            offset = src.offset
            head = parse_bytes(s.RECORD_HEADER, src.read(16, "record.header"), src, offset,
                                "record")
            if src.size is not None and offset + 16 + head.length > src.size:
                raise src.error(f"record of {head.length} bytes runs past the end of the file "
                                f"({src.size} bytes)", "record.length", offset + 8,
                                cls=TruncatedError)
            try:
                record = self._record(head, offset)
            except FormatError as exc:
                # Every record is padded to 8 bytes: the next one starts there.
                after = offset + 16 + head.length + (-head.length % 8)
                if src.offset > after:
                    raise
                recover(exc, self.findings, self.keep_going)
                record = None
                src.skip(after - src.offset, "record")
            if head.type != s.TYPE_END:
                self._records += 1
            if record is not None:
                yield record
            if head.type == s.TYPE_END:
                break
        if not src.at_eof():
            raise src.error("bytes after the END record", "end", src.offset)

    def _record(self, head, offset: int) -> Record | None:
        src = self.source
        if head.flags or head.reserved:
            raise src.error("record header flags and reserved field must be zero",
                            "record.flags", offset)
        handler = self._dispatch.get(head.type)
        if handler is None:
            if head.type not in s.RECORD_BODIES:
                raise src.error(f"unknown record type {head.type:#x}", "record.type", offset)
            handler = self._other
        return handler(head, offset)

    def _file_header(self):
        """Block 0, checked: constants, zero reserved bytes, a version and features we know."""
        src = self.source
        header = parse_bytes(s.FILE_HEADER, src.read(s.BLOCK, "file_header"), src, 0,
                              "file_header")
        for name, at in (("reserved", 52), ("reserved2", s.STOP_W32_OFFSET + 4)):
            if any(header[name]):
                raise src.error("reserved bytes of the file header must be zero",
                                f"file_header.{name}", at)
        if header.version != s.VERSION:
            raise UnsupportedError(f"{src.name}: aligned format version {header.version}; "
                                   f"this xcformat reads version {s.VERSION}")
        if header.incompat_features & ~s.KNOWN_INCOMPAT:
            raise UnsupportedError(f"{src.name}: unknown incompatible feature bits "
                                   f"{header.incompat_features & ~s.KNOWN_INCOMPAT:#x}")
        if header.compat_features & ~s.KNOWN_COMPAT:
            self.findings.append(Finding(
                "warning", f"unknown compatible feature bits "
                f"{header.compat_features & ~s.KNOWN_COMPAT:#x} (ignored)", 40,
                "file_header.compat_features"))
        return header

    def summary(self) -> dict:
        header, image = self._header, self._image_header
        return {
            "aligned_version": header.version if header else None,
            "compat_features": header.compat_features if header else None,
            "indexed": bool(self._index_offset),
            "indexed_pfns": self._index.pages() if self._index_offset else None,
            "source_variant": image.provenance.label if image else None,
        }

    # -- records --------------------------------------------------------------------------
    def _other(self, head, offset: int) -> Record:
        src = self.source
        if head.length > MAX_READ:
            raise src.error(f"record of {head.length} bytes exceeds the {MAX_READ}-byte limit",
                            "record.length", offset + 8)
        number = head.type
        cls = s.RECORD_BODIES[number][0]
        body = bytes(src.read(head.length, f"{cls.__name__}.body"))
        self._padding(-head.length % 8, f"{cls.__name__}.padding")
        record = decode_record(number, body, src, offset + 16, self._image_header)
        if isinstance(record, ImageHeader):
            if self._image_header is not None:
                raise src.error("a second IMAGE_HEADER record", "ImageHeader", offset)
            self._image_header = record
            self._check_hints(record, offset)
        self._region(offset, src.offset - offset, region_of(cls), cls.__name__)
        return record

    def _batch(self, head, offset: int) -> PageBatch:
        src = self.source
        if self._image_header is None:
            raise src.error("page batch before the IMAGE_HEADER record", "record.type", offset)
        if head.length < s.BATCH_HEAD.sizeof():
            raise src.error(f"batch record of {head.length} bytes", "batch.length", offset + 8)
        batch = parse_bytes(s.BATCH_HEAD, src.read(s.BATCH_HEAD.sizeof(), "batch"), src,
                             offset + 16, "batch")
        count, size, data_pages, head_pad = (batch.count, batch.entry_size, batch.data_pages,
                                             batch.head_pad)
        if batch.flags & ~s.BATCH_GMFNS:
            raise src.error(f"unknown batch flags {batch.flags:#x}", "batch.flags",
                            offset + 21)
        with_gmfns = bool(batch.flags & s.BATCH_GMFNS)
        if not 1 <= count <= s.MAX_BATCH:
            raise src.error(f"batch of {count} entries (1..{s.MAX_BATCH})", "batch.count",
                            offset + 16)
        if size not in _ENTRY_SIZES:
            raise src.error(f"entry size {size} (4 or 8)", "batch.entry_size", offset + 20)
        if data_pages > count or head_pad >= s.BLOCK:
            raise src.error(f"batch of {count} entries claims {data_pages} pages and "
                            f"{head_pad} bytes of padding", "batch.data_pages", offset + 24)
        expected = (s.BATCH_HEAD.sizeof() + count * (size + 8 * with_gmfns) + head_pad
                    + data_pages * PAGE_SIZE)
        if head.length != expected:
            raise src.error(f"batch length {head.length}, its fields make {expected}",
                            "batch.length", offset + 8)
        pfns, types = self._entries(count, size)
        gmfns = (tuple(src.read(8 * count, "batch.gmfns").cast("Q")) if with_gmfns
                 else None)
        data_types = data_page_count(types)
        if data_types != data_pages:
            raise src.error(f"{data_types} entries carry data but data_pages is {data_pages}",
                            "batch.data_pages", offset + 24)
        self._region(offset, src.offset - offset, "batch-header",
                     f"batch {self._batches} ({count} entries)")
        if data_pages and (src.offset + head_pad) % s.BLOCK:
            raise src.error("head_pad does not bring the page data to a 4096 boundary",
                            "batch.head_pad", offset + 28)
        if not data_pages and head_pad:
            raise src.error("head_pad in a batch without pages", "batch.head_pad", offset + 28)
        pad_at = src.offset
        self._padding(head_pad + (0 if data_pages else -head.length % 8), "batch.head_pad")
        if src.offset > pad_at:
            self._region(pad_at, src.offset - pad_at, "padding", "alignment padding")
        data_offset = src.offset
        first_block = data_offset // s.BLOCK
        data = src.page_data(data_pages * PAGE_SIZE, "batch.page_data")
        if data_pages:
            self._region(first_block * s.BLOCK, len(data), "page-data",
                         f"{data_pages} pages")
        self._index.add(pfns, types, first_block)
        self._batches += 1
        self._pages += data_pages
        return loaded_batch(PageBatch(pfns, types, data, gmfns, data_offset),
                            self._image_header)

    def _entries(self, count: int, size: int) -> tuple[tuple[int, ...], bytes]:
        src = self.source
        at = src.offset
        types, pfns = split_typed(src.read(count * size, "batch.entries"), size)
        bad = INVALID_TYPES.intersection(types)
        if bad:
            raise src.error(f"invalid page type {min(bad):#x}", "batch.entries", at)
        return pfns, types

    def _index_record(self, head, offset: int) -> None:
        src = self.source
        if self._index_offset or not self._header.compat_features & s.COMPAT_INDEX:
            raise src.error("INDEX record in a file whose header announces none (or a second "
                            "one)", "index", offset)
        if head.length < s.INDEX_HEAD.sizeof():
            raise src.error(f"index record of {head.length} bytes", "index.length", offset + 8)
        index = parse_bytes(s.INDEX_HEAD, src.read(s.INDEX_HEAD.sizeof(), "index"), src,
                             offset + 16, "index")
        if index.reserved or index_length(index.leaf_count) != head.length:
            raise src.error(f"index of {index.leaf_count} leaves does not fill its "
                            f"{head.length}-byte record", "index.leaf_count", offset + 16)
        if index.pages != self._index.pages():
            raise src.error(f"index counts {index.pages} pages, the batches hold "
                            f"{self._index.pages()} distinct ones", "index.pages", offset + 24)
        check_against(self._index, self._index_pieces(index.leaf_count), src)
        self._padding(-head.length % 8, "index.padding")
        self._index_offset = offset
        self._region(offset, src.offset - offset, "index", f"pfn index ({index.leaf_count} "
                     "leaves)")

    def _index_pieces(self, leaf_count: int):
        src = self.source
        yield src.offset, bytes(src.read(8 * leaf_count, "index.leaf_key"))
        for _ in range(leaf_count):
            yield src.offset, bytes(src.read(4 * s.LEAF_PFNS, "index.leaf"))

    def _end(self, head, offset: int) -> End:
        src = self.source
        if head.length < _TRAILER or (offset + 16 + head.length) % s.BLOCK:
            raise src.error("END record does not end the file on a 4096-byte boundary",
                            "end.length", offset + 8)
        if self._header.compat_features & s.COMPAT_INDEX and not self._index_offset:
            raise src.error("the header announces an index but END comes without one",
                            "end", offset)
        self._padding(head.length - _TRAILER, "end.padding")
        at = src.offset
        trailer = parse_bytes(s.TRAILER, src.read(_TRAILER, "trailer"), src, at, "trailer")
        expected = {"end_offset": offset, "index_offset": self._index_offset,
                    "batches": self._batches, "data_pages": self._pages,
                    "records": self._records}
        for name, value in expected.items():
            if trailer[name] != value:
                raise src.error(f"trailer says {trailer[name]}, the file has {value}",
                                f"trailer.{name}", at)
        self._region(offset, src.offset - offset, "chunk", "END and trailer")
        return End()

    # -- helpers --------------------------------------------------------------------------
    def _check_hints(self, header: ImageHeader, offset: int) -> None:
        """The file states guest type and widths; a --guest/--input-width that differs is ignored."""
        hints = self._hints
        for hint, value, option in ((hints.guest, header.guest, "--guest"),
                                    (hints.toolstack_bits, header.toolstack_bits, "--input-width")):
            if hint is not None and hint != value:
                shown = getattr(value, "value", value)
                self.findings.append(Finding(
                    "warning", f"{option} {getattr(hint, 'value', hint)} ignored: the file "
                    f"records {shown}", offset, "ImageHeader"))
    def _padding(self, n: int, field: str) -> None:
        src = self.source
        while n:
            at = src.offset
            piece = src.read(min(n, s.BLOCK), field)
            if piece != bytes(len(piece)):
                raise src.error("padding must be zero", field, at)
            n -= len(piece)

    def _region(self, offset: int, length: int, kind: str, label: str) -> None:
        if self.on_region is not None:
            self.on_region(Region(offset, length, kind, label))
