"""Reading and writing through the v2 format's own entry points, on real files."""

from __future__ import annotations

import struct

from xcformat.formats import WriteOptions
from xcformat.io import open_sink
from xcformat.testing import read_records
from xcformat.v2 import FORMAT


def write(path, records, **options) -> bytes:
    said = []
    opts = WriteOptions(say=said.append, **options)
    with open_sink(str(path)) as sink:
        FORMAT.writer(sink, opts).write(records)
    write.said = said
    return path.read_bytes()


def read(path, regions=None):
    """(records with page data copied, findings)."""
    records, read.summary, reader = read_records(path, FORMAT, on_region=None if regions is None
                                                 else regions.append)
    return records, reader.findings


def findings_of(path, data: bytes):
    path.write_bytes(data)
    return read(path)[1]


def page_offsets(data: bytes, start: int):
    """File offset of every page of data, walking libxc records from ``start`` (independent)."""
    offsets = []
    off = start + 40
    while True:
        rtype, length = struct.unpack_from("<II", data, off)
        if rtype == 1:
            count = struct.unpack_from("<I", data, off + 8)[0]
            entries = struct.unpack_from(f"<{count}Q", data, off + 16)
            pages = sum(1 for e in entries if (e >> 60) not in (0xD, 0xE, 0xF))
            first = off + 16 + 8 * count
            offsets += [first + 4096 * i for i in range(pages)]
        if rtype == 0:
            return offsets
        off += 8 + length + (-length % 8)


def pages_by_pfn(records) -> dict[int, bytes]:
    """Last copy of every data page (what a restore ends up with)."""
    from xcformat.records import DATA_TYPES, PageBatch
    pages = {}
    for r in records:
        if isinstance(r, PageBatch):
            k = 0
            for pfn, t in zip(r.pfns, r.types):
                if t in DATA_TYPES:
                    pages[pfn] = bytes(r.data[k * 4096:(k + 1) * 4096])
                    k += 1
    return pages
