"""aligned v1: xcformat's page-aligned save image (every page of data on a 4096-byte boundary).

It carries the format-neutral records of any source unchanged, so a legacy image converts to
aligned and back byte for byte; its first bytes stop every legacy reader; an optional index
finds a page by pfn with two small reads.  Layout: :mod:`xcformat.aligned.schema`.
"""

from __future__ import annotations

from ..formats import Format, Sniffed
from . import schema
from .index import lookup
from .reader import AlignedReader
from .writer import AlignedWriter

#: The constant first 32 bytes (marker, stoppers, id); the version follows.
MAGIC = schema.file_header(0, 0)[:28]


def sniff(head: bytes) -> Sniffed | None:
    if not head.startswith(MAGIC):
        return None
    version = int.from_bytes(head[28:32], "little") if len(head) >= 32 else None
    return Sniffed("aligned", True, "aligned magic (FF x16, XCAL)", {"version": version})


FORMAT = Format("aligned", "xcformat's page-aligned save image (aligned v1)", sniff,
                AlignedReader, AlignedWriter, page_lookup=lookup)

#: What this xcformat reads and writes of aligned, for peers that negotiate a format (spec/negotiation.md):
#: a peer may send any compatible bits; it must send no incompatible bit outside this set.
CAPABILITIES = {"version": schema.VERSION, "block_size": schema.BLOCK,
                "compat_features": schema.KNOWN_COMPAT,
                "incompat_features": schema.KNOWN_INCOMPAT}
