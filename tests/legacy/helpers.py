"""Reading and rewriting legacy images through the real file I/O layer, and finding the parts
of a synthetic image (for tests that break one field)."""

from __future__ import annotations

import re
import struct
import tempfile
from dataclasses import dataclass

from xcformat.formats import Hints, WriteOptions
from xcformat.io import open_sink, open_source
from xcformat.legacy import FORMAT
from xcformat.legacy.reader import LegacyReader
from xcformat.legacy.writer import LegacyWriter
from xcformat.records import DATA_TYPES, GuestType, PageBatch
from xcformat.synth import GuestSpec, legacy_bytes
from xcformat.testing import read_records


def read_all(path, hints: Hints = Hints(), on_region=None):
    """(records, summary, findings) of the image at ``path``; page data copied."""
    records, summary, reader = read_records(path, FORMAT, hints, on_region)
    return records, summary, reader.findings


def rewrite(path, out, hints: Hints = Hints(), options: WriteOptions = WriteOptions()):
    with open_source(str(path)) as source:
        reader = LegacyReader(source, hints)
        with open_sink(str(out)) as sink:
            LegacyWriter(sink, options).write(reader.records())
        return reader




def final_pages(records) -> dict[int, bytes]:
    """pfn -> the last data sent for it, over every batch of ``records``."""
    final = {}
    for batch in records:
        if not isinstance(batch, PageBatch):
            continue
        pages = bytes(batch.data)
        index = 0
        for pfn, kind in zip(batch.pfns, batch.types):
            if kind in DATA_TYPES:
                final[pfn] = pages[index * 4096:(index + 1) * 4096]
                index += 1
    return final


def hints_for(spec: GuestSpec) -> Hints:
    """What a user says where the bytes cannot decide (HVM vs PV without ext-info)."""
    return Hints(guest=GuestType(spec.guest))


@dataclass
class Marked:
    """A synthetic image with the offset of each structure the reader reported, by name:
    ``"p2m_size"``, ``"extended info"``, ``"p2m frame list"``, ``"batch"``, ``"pages"``,
    ``"chunk -2 VCPU_INFO"``, ``"end of body"``, ``"unmapped pfns"``, ``"vCPU 0 context"``,
    ``"vCPU 0 xsave"``, ``"shared-info page"``, ``"HVM magic pfns"``, ``"HVM context"``,
    ``"qemu record DeviceModelRecord0002"``... (the first of each)."""

    spec: GuestSpec
    data: bytes
    at: dict[str, int]
    records: list

    def patch(self, name: str, rel: int, fmt: str, *values) -> bytes:
        data = bytearray(self.data)
        struct.pack_into(fmt, data, self.at[name] + rel, *values)
        return bytes(data)

    def cut(self, name: str, rel: int = 0) -> bytes:
        return self.data[:self.at[name] + rel]

    def insert(self, name: str, blob: bytes, rel: int = 0) -> bytes:
        at = self.at[name] + rel
        return self.data[:at] + blob + self.data[at:]

    def without(self, name: str, length: int) -> bytes:
        at = self.at[name]
        return self.data[:at] + self.data[at + length:]

    def of(self, kind: type) -> list:
        return [r for r in self.records if isinstance(r, kind)]


def marked(spec: GuestSpec) -> Marked:
    data = legacy_bytes(spec)
    at: dict[str, int] = {}

    def note(region):
        name = re.sub(r"^\d+ ", "", region.label.split(" (")[0].split(":")[0])
        at.setdefault(name, region.offset)

    with tempfile.NamedTemporaryFile() as tmp:
        tmp.write(data)
        tmp.flush()
        records = read_all(tmp.name, hints_for(spec), note)[0]
    return Marked(spec, data, at, records)
