"""Records -> aligned v1.  Every write is whole 4096-byte blocks at block-aligned offsets."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..drops import kind_of, refuse_or_drop, what_of
from ..errors import FormatError, UnsupportedError
from ..formats import WriteOptions
from ..io import Sink
from ..entries import pack_typed
from ..records import PAGE_SIZE, End, PageBatch, Physmap, Record, data_page_count
from . import schema as s
from .blocks import BlockWriter
from .codec import encode_record, record_bytes, stored_entries
from .index import IndexBuilder, index_length
from .options import AlignedOptions

_RECORD_HEAD = s.RECORD_HEADER.sizeof()
_BATCH_HEAD = s.BATCH_HEAD.sizeof()
_TRAILER = s.TRAILER.sizeof()


class AlignedWriter:
    def __init__(self, sink: Sink, options: WriteOptions):
        self._options = options
        self._out = BlockWriter(sink)
        self._index = IndexBuilder() if options.own(AlignedOptions).index else None
        self._batches = 0
        self._pages = 0
        self._records = 0
        #: What aligned v1 does with each record kind it carries: page batches and End here,
        #: every other kind through its frozen body (``schema.RECORD_BODIES``; a Physmap
        #: through the body that carried it before it was a record of its own).
        self.handlers: dict[type[Record], Callable[[Any], None]] = {
            PageBatch: self._batch, End: self._end, Physmap: self._other,
            **dict.fromkeys(s.TYPE_OF_CLASS, self._other)}

    def write(self, records: Iterable[Record]) -> None:
        self._out.put(s.file_header(s.VERSION, s.COMPAT_INDEX if self._index else 0))
        ended = False
        for record in records:
            if ended:
                raise FormatError(f"{type(record).__name__} record after End")
            self.handlers.get(type(record), self._refuse)(record)
            ended = isinstance(record, End)
        if not ended:
            raise FormatError("the records ended without an End record")

    def _other(self, record: Record) -> None:
        self._out.put(record_bytes(*encode_record(record)))
        self._records += 1

    def _refuse(self, record: Record) -> None:
        refuse_or_drop(self._options, "aligned", kind_of(record), what_of(record))

    def _batch(self, batch: PageBatch) -> None:
        pfns, types = stored_entries(batch)
        count = len(pfns)
        if not 1 <= count <= s.MAX_BATCH or len(types) != count:
            raise UnsupportedError(f"aligned v1 stores batches of 1..{s.MAX_BATCH} entries with "
                                   f"one type each (got {count} pfns, {len(types)} types)")
        data = _byte_view(batch.data)
        data_pages = data_page_count(types)
        if len(data) != data_pages * PAGE_SIZE:
            raise FormatError(f"page batch has {len(data)} bytes of data for "
                              f"{data_pages} data-bearing entries")
        entries, size = _entries(pfns, types)
        entries += _gmfns(batch)
        start = self._out.offset
        heads = _RECORD_HEAD + _BATCH_HEAD + len(entries)
        head_pad = -(start + heads) % s.BLOCK if data_pages else 0
        length = _BATCH_HEAD + len(entries) + head_pad + len(data)
        self._out.put(s.RECORD_HEADER.build({"type": s.TYPE_BATCH, "flags": 0, "reserved": 0,
                                             "length": length}))
        self._out.put(s.BATCH_HEAD.build({
            "count": count, "entry_size": size, "data_pages": data_pages, "head_pad": head_pad,
            "flags": s.BATCH_GMFNS if batch.gmfns is not None else 0}))
        self._out.put(entries)
        self._out.put(bytes(head_pad + (-length % 8)))
        if data_pages:
            first_block = self._out.offset // s.BLOCK
            if first_block + data_pages > s.MAX_BLOCKS:
                raise UnsupportedError("aligned v1 files are limited to 16 TiB")
            self._out.put_blocks(data)
            if self._index is not None:
                self._index.add(pfns, types, first_block)
        elif self._index is not None:
            self._index.add(pfns, types, 0)
        self._batches += 1
        self._pages += data_pages
        self._records += 1

    def _end(self, _: End) -> None:
        index_offset = 0
        if self._index is not None:
            index_offset = self._out.offset
            length = index_length(len(self._index.keys()))
            self._out.put(s.RECORD_HEADER.build({"type": s.TYPE_INDEX, "flags": 0,
                                                 "reserved": 0, "length": length}))
            for piece in self._index.body():
                self._out.put(piece)
            self._out.put(bytes(-length % 8))
            self._records += 1
        end_offset = self._out.offset
        pad = -(end_offset + _RECORD_HEAD + _TRAILER) % s.BLOCK
        self._out.put(s.RECORD_HEADER.build({"type": s.TYPE_END, "flags": 0, "reserved": 0,
                                             "length": pad + _TRAILER}))
        self._out.put(bytes(pad))
        self._out.put(s.TRAILER.build({"end_offset": end_offset, "index_offset": index_offset,
                                       "batches": self._batches, "data_pages": self._pages,
                                       "records": self._records}))
        self._out.drain()


def _entries(pfns: tuple[int, ...], types: bytes) -> tuple[bytes, int]:
    """The packed entry array: u32 (type << 28 | pfn) when every pfn fits 28 bits, else u64."""
    if max(types) > 0xF:
        raise FormatError(f"page type {max(types):#x} is not a 4-bit type")
    top = max(pfns)
    if min(pfns) < 0 or top >= s.WIDE_PFN_LIMIT:
        raise UnsupportedError(f"pfn {top:#x} does not fit the 60 bits of an aligned v1 entry")
    if top < s.NARROW_PFN_LIMIT:
        return pack_typed(pfns, types, 4), 4
    return pack_typed(pfns, types, 8), 8


def _gmfns(batch: PageBatch) -> bytes:
    """The batch's machine frames as u64s, when its source recorded them."""
    if batch.gmfns is None:
        return b""
    if len(batch.gmfns) != len(batch.pfns):
        raise FormatError(f"page batch has {len(batch.gmfns)} gmfns for {len(batch.pfns)} "
                          "entries")
    try:
        # Bulk, not through the schema: a u64 per entry, as BATCH_HEAD's flags bit 0 declares.
        return struct.pack(f"<{len(batch.gmfns)}Q", *batch.gmfns)
    except struct.error:
        raise UnsupportedError("a gmfn does not fit 64 bits") from None


def _byte_view(data) -> memoryview:
    view = memoryview(data)
    return view if view.format == "B" and view.ndim == 1 else view.cast("B")
