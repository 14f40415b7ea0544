"""Reading a whole image into a list of records, for tests that compare images."""

from __future__ import annotations

import dataclasses

from ..formats import Format, Hints, Reader
from ..io import open_source
from ..regions import RegionSink
from ..records import PageBatch, Record


def kept(record: Record) -> Record:
    """``record`` made safe to keep: a batch's page view (valid until the next record) copied."""
    if isinstance(record, PageBatch):
        return dataclasses.replace(record, data=memoryview(bytes(record.data)))
    return record


def read_records(path, fmt: Format, hints: Hints = Hints(),
                 on_region: RegionSink | None = None) -> tuple[list[Record], dict, Reader]:
    """Every record of the ``fmt`` image at ``path`` (page data copied), its ``summary()``
    (taken while the file is open: some formats look back into it) and the spent reader, whose
    ``findings`` are then complete.  Meant for small images."""
    with open_source(str(path)) as source:
        reader = fmt.reader(source, hints)
        reader.on_region = on_region
        records = [kept(record) for record in reader.records()]
        return records, reader.summary(), reader
