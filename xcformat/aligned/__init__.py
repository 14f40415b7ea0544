"""aligned v1: xcformat's page-aligned save image (every page of data on a 4096-byte boundary).

It carries the format-neutral records of any source unchanged, so a legacy image converts to
aligned and back byte for byte; its first bytes stop every legacy reader; an optional index
finds a page by pfn with two small reads.  Layout: :mod:`xcformat.aligned.schema`.
"""

from __future__ import annotations

from ..codec import head as fields_up_to
from ..formats import Capabilities, Format, Sniffed, deferred
from . import schema
from .options import AlignedOptions

#: The constant first 28 bytes (marker, stoppers, id); the version follows.
MAGIC = schema.file_header(0, 0)[:28]
_IDENT = fields_up_to(schema.FILE_HEADER, "version")


def sniff(head: bytes) -> Sniffed | None:
    if not head.startswith(MAGIC):
        return None
    version = _IDENT.parse(head).version if len(head) >= _IDENT.sizeof() else None
    return Sniffed("aligned", True, "aligned magic (FF x16, XCAL)", {"version": version})


#: Every page is aligned already, and a source's wrapper travels as a record.  A peer that
#: negotiates (spec/negotiation.md) may send any compatible feature bit, but no incompatible
#: one outside ``features``.
CAPABILITIES = Capabilities(
    noun="aligned files",
    versions=(schema.VERSION,),
    options=AlignedOptions,
    features=schema.KNOWN_INCOMPAT,
    refusal_notes={"--wrap": "a source's wrapper is kept as a record",
                   "--align": "every page of one is on a 4 KiB boundary already"},
)

FORMAT = Format("aligned", "xcformat's page-aligned save image (aligned v1)", sniff,
                deferred("xcformat.aligned.reader", "AlignedReader"),
                deferred("xcformat.aligned.writer", "AlignedWriter"),
                page_lookup=deferred("xcformat.aligned.index", "lookup"),
                capabilities=CAPABILITIES)
