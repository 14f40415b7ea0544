"""Tiny stand-in formats for testing the negotiation protocol on its own.

They carry the names the negotiation chooses between (``aligned``, ``v2``, ``legacy``) so that
every choice can be exercised whatever real formats have landed.  Layout of each: an 8-byte
magic, a u8 "aligned variant" flag, a u32 page count, the pages, an 8-byte trailer.  Converting
between them drops nothing, so toy aligned -> toy legacy reproduces a toy legacy file exactly.
"""

from __future__ import annotations

import struct

from xcformat.formats import Capabilities, Format, Sniffed
from xcformat.records import End, GuestType, ImageHeader, PageBatch, Provenance

HEADER = struct.Struct("<8sBI")
TRAILER = b"TOY-END!"
MAX_PAGES = 1 << 16
BATCH = 64


def _family(name: str, magic: bytes, capabilities: Capabilities) -> Format:
    def sniff(head: bytes) -> Sniffed | None:
        return Sniffed(name, True, "toy magic") if head[:8] == magic else None

    class Reader:
        def __init__(self, source, hints):
            self.source = source
            self.findings = []

        def records(self):
            src = self.source
            got_magic, align, pages = HEADER.unpack(src.read(HEADER.size, "header"))
            if got_magic != magic:
                raise src.error("bad toy magic", field="magic", offset=0)
            if align > 1 or pages > MAX_PAGES:
                raise src.error(f"bad toy header (align {align}, pages {pages})",
                                field="header")
            yield ImageHeader(GuestType.PV, pages,
                              provenance=Provenance("toy", layout=f"align={align}"))
            done = 0
            while done < pages:
                n = min(BATCH, pages - done)
                data = src.read(n * 4096, "pages")
                yield PageBatch(tuple(range(done, done + n)), bytes(n), data)
                done += n
            if bytes(src.read(len(TRAILER), "trailer")) != TRAILER:
                raise src.error("bad toy trailer", field="trailer")
            yield End()

        def summary(self):
            return {}

    class Writer:
        def __init__(self, sink, options):
            self.sink, self.options = sink, options

        def write(self, records):
            for record in records:
                if isinstance(record, ImageHeader):
                    self.sink.write(HEADER.pack(magic, int(self.options.align),
                                                record.p2m_size))
                elif isinstance(record, PageBatch):
                    self.sink.write(record.data)
                elif isinstance(record, End):
                    self.sink.write(TRAILER)

    return Format(name, f"toy {name}", sniff, Reader, Writer, capabilities=capabilities)


MAGICS = {"aligned": b"TOYALGN\0", "legacy": b"TOYLGCY\0", "v2": b"TOYV2\0\0\0"}
#: As the real formats declare them: the versions the negotiation states, and which align.
CAPABILITIES = {"aligned": Capabilities("toy aligned files", versions=(1,)),
                "legacy": Capabilities("toy legacy streams", aligned="toy-aligned"),
                "v2": Capabilities("toy v2 streams", versions=(2, 3), aligned="toy-aligned")}
REGISTRY = {name: _family(name, magic, CAPABILITIES[name]) for name, magic in MAGICS.items()}


def image(name: str, pages: int, *, align: bool = False, seed: int = 1) -> bytes:
    """A toy image of ``pages`` pages whose contents depend on ``seed``."""
    body = b"".join(struct.pack("<I", seed * 100003 + i) * 1024 for i in range(pages))
    return HEADER.pack(MAGICS[name], int(align), pages) + body + TRAILER
