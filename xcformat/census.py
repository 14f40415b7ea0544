"""Counting what an image holds, from its records alone (the format-neutral part of ``info``)."""

from __future__ import annotations

from collections import Counter

from .records import ImageHeader, PageBatch, Record, VcpuContext, Wrapper


class Census:
    """Feed it every record of an image; :meth:`as_json` says what was seen."""

    def __init__(self) -> None:
        self.header: ImageHeader | None = None
        self.wrapper: str | None = None
        self.pages = 0
        self.batches = 0
        self.vcpus: set[int] = set()
        self.records: Counter[str] = Counter()

    def see(self, record: Record) -> None:
        self.records[type(record).__name__] += 1
        if isinstance(record, PageBatch):
            self.batches += 1
            self.pages += record.data_pages
        elif isinstance(record, VcpuContext):
            self.vcpus.add(record.vcpu_id)
        elif isinstance(record, ImageHeader):
            self.header = record
        elif isinstance(record, Wrapper):
            self.wrapper = record.kind

    def as_json(self) -> dict:
        header = self.header
        return {
            "wrapper": self.wrapper,
            "guest": header.guest.value if header else None,
            "toolstack_width": header.toolstack_bits if header else None,
            "guest_width": header.guest_bits if header else None,
            "p2m_size": header.p2m_size if header else None,
            "pages": self.pages,
            "batches": self.batches,
            "vcpus": len(self.vcpus),
            "records": dict(self.records),
        }
