"""Reading and rewriting legacy images through the real file I/O layer."""

from __future__ import annotations

from xcformat.formats import Hints, WriteOptions
from xcformat.io import open_sink, open_source
from xcformat.legacy import LegacyReader, LegacyWriter


def read_all(path, hints: Hints = Hints()):
    """(records, summary, findings) of the image at ``path``; page data copied."""
    with open_source(str(path)) as source:
        reader = LegacyReader(source, hints)
        records = [_keep(r) for r in reader.records()]
        return records, reader.summary(), reader.findings


def rewrite(path, out, hints: Hints = Hints(), options: WriteOptions = WriteOptions()):
    with open_source(str(path)) as source:
        reader = LegacyReader(source, hints)
        with open_sink(str(out)) as sink:
            LegacyWriter(sink, options).write(reader.records())
        return reader


def _keep(record):
    data = getattr(record, "data", None)
    if isinstance(data, memoryview):
        return type(record)(record.pfns, record.types, memoryview(bytes(data)))
    return record
