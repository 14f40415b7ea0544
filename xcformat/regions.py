"""Where each structure of an image lies in the file: the raw material of ``xcformat map``.

A reader whose ``on_region`` attribute is set calls it once for every structure it parses, in
file order, with a :class:`Region`.  Readers cost nothing extra when it is unset (the default).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

#: The vocabulary of region kinds; ``map --json`` uses these strings.
KINDS = {
    "wrapper": "a file wrapper (xl / xend / libxl header, qemu record signature)",
    "header": "an image, domain or ELF header",
    "ext-info": "legacy PV extended-info block",
    "p2m-frames": "PV p2m frame list",
    "batch-header": "a page batch's count and pfn/type entries (or a PAGE_DATA record header)",
    "padding": "bytes written only to align what follows",
    "page-data": "4096-byte guest pages",
    "chunk": "a legacy chunk (negative id) or a v2 record other than page data",
    "tail": "the legacy tail: vCPU contexts, shared info, HVM context, qemu state",
    "section": "an ELF section's contents other than pages",
    "index": "a pfn -> offset index",
    "trailer": "anything after the end of the image",
}


@dataclass(frozen=True, slots=True)
class Region:
    offset: int
    length: int
    kind: str      #: one of :data:`KINDS`
    label: str     #: what exactly it is, e.g. "batch 17 (1024 entries)", "chunk -7 TSC_INFO"


RegionSink = Callable[[Region], None]
