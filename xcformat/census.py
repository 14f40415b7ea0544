"""Counting what an image holds, from its records alone (the format-neutral part of ``info``)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from .errors import FormatError
from .kinds import label_of
from .pageset import PageSet
from .records import DATA_TYPES, HvmContext, ImageHeader, PageBatch, Record, VcpuContext, Wrapper
from .x86.hvm_context import TYPE_CPU, iter_hvm_records


class Census:
    """Feed it every record of an image; :meth:`as_json` says what was seen (the fields of
    :class:`xcformat.Info` that every format has)."""

    def __init__(self) -> None:
        self.header: ImageHeader | None = None
        self.wrapper: str | None = None
        self.page_records = 0           # data-bearing entries, re-sends included
        self.distinct = PageSet()       # pfns with data: a re-sent page counts once
        self.batches = 0
        self.vcpus: set[int] = set()
        self.records: Counter[str] = Counter()

    def see(self, record: Record) -> None:
        self.records[label_of(record)] += 1
        if isinstance(record, PageBatch):
            self.batches += 1
            self.page_records += record.data_pages
            self.distinct.add([p for p, t in zip(record.pfns, record.types) if t in DATA_TYPES])
        elif isinstance(record, VcpuContext):
            self.vcpus.add(record.vcpu_id)
        elif isinstance(record, HvmContext):
            self.vcpus.update(_hvm_cpus(record.blob))
        elif isinstance(record, ImageHeader):
            self.header = record
        elif isinstance(record, Wrapper):
            self.wrapper = record.kind

    def as_json(self) -> dict[str, Any]:
        header = self.header
        return {
            "wrapper": self.wrapper,
            "guest": header.guest.value if header else None,
            "toolstack_width": header.toolstack_bits if header else None,
            "guest_width": header.guest_bits if header else None,
            "p2m_size": header.p2m_size if header else None,
            "pages": self.distinct.count(),
            "page_records": self.page_records,
            "batches": self.batches,
            "vcpus": len(self.vcpus),
            "records": dict(self.records),
        }


def _hvm_cpus(blob: bytes) -> set[int]:
    """The vCPU ids of an HVM context: an HVM guest's vCPUs have no VcpuContext records, their
    registers are CPU records inside the context (xen/include/public/arch-x86/hvm/save.h)."""
    try:
        return {instance for _, typecode, instance, _ in iter_hvm_records(blob)
                if typecode == TYPE_CPU}
    except FormatError:
        return set()   # a damaged context: the reader has reported it
