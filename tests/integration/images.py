"""Reading images back through the project's readers, for comparisons across formats."""

from __future__ import annotations

from collections import defaultdict

from xcformat import formats
from xcformat.io import open_source
from xcformat.records import (DATA_TYPES, PAGE_SIZE, GuestType, PageBatch, VcpuContext,
                              VcpuExtended, VcpuXsave)


def guest_state(path, guest: str | None = None) -> tuple[dict[int, bytes], dict]:
    """(final content of every pfn, last copy wins; {(record kind, vcpu): bytes})."""
    pages: dict[int, bytes] = {}
    vcpus: dict = defaultdict(bytes)
    hints = formats.Hints(guest=GuestType(guest) if guest else None)
    with open_source(str(path), "buffered") as source:
        fmt, _ = formats.detect(source)
        for record in fmt.reader(source, hints).records():
            if isinstance(record, PageBatch):
                data = bytes(record.data)
                index = 0
                for pfn, kind in zip(record.pfns, record.types):
                    if kind in DATA_TYPES:
                        pages[pfn] = data[index * PAGE_SIZE:(index + 1) * PAGE_SIZE]
                        index += 1
            elif isinstance(record, VcpuContext):
                vcpus["context", record.vcpu_id] = record.context
            elif isinstance(record, VcpuExtended):
                vcpus["extended", record.vcpu_id] = record.data
            elif isinstance(record, VcpuXsave):
                vcpus["xsave", record.vcpu_id] = record.data
    return pages, dict(vcpus)
