"""Migration stream v2/v3 (Xen 4.6+): the libxc stream, the libxl layer and the xl save file.

What the reader's records say beyond the stream's own records (for writers of other formats):

* ``ImageHeader`` comes after the static records: ``guest_bits`` from X86_PV_INFO, ``p2m_size``
  from X86_PV_P2M_FRAMES (PV) or, for HVM, which does not state it, from a pre-pass over record
  headers and pfn arrays on seekable files (:mod:`.prepass`; None on pipes).  ``variant`` is
  ``"v2"``/``"v3"``, with ``"+libxl"`` when a libxl layer carried the stream; ``xen_version`` is
  the domain header's (``(0, 1)``: written by a converter).
* ``VcpuInfo`` (the online set) comes before each run of PV vCPU records and before an HVM
  context (from its CPU save records), as a legacy writer needs it for chunk -2.
* STATIC_DATA_END is not a record: the writer puts it where v3 needs it.  CHECKPOINT is a
  ``Checkpoint`` after the snapshot's libxl emulator records.  Unknown optional records are
  ``Opaque("v2", "record-0x...")``; VERIFY is ``Opaque("v2", "verify")``.
* An xl ``Wrapper``'s ``mandatory_flags`` lack STREAMv2 (it describes the file's layering, and the
  v2 writer sets it again).
"""

from __future__ import annotations

import struct

from ..formats import Format, Sniffed
from .reader import V2Reader
from .schema import (IHDR_ID, IHDR_MARKER, LIBXL_IDENT, XL_FLAG_STREAMV2, XL_HEADER_SIZE,
                     XL_MAGIC)
from .writer import V2Writer

__all__ = ["FORMAT", "sniff"]

GUESTS = {1: "pv", 2: "hvm"}


def sniff(head: bytes) -> Sniffed | None:
    """A v2 stream, bare, in a libxl layer, or in an xl file whose STREAMv2 flag is set."""
    facts: dict = {"wrapper": None, "layers": []}
    at = 0
    if head.startswith(XL_MAGIC):
        if len(head) < XL_HEADER_SIZE:
            return None
        flags, _, optional_len = struct.unpack_from("<III", head, 36)
        if not flags & XL_FLAG_STREAMV2:
            return None   # a legacy stream in an xl file: the legacy format's
        facts["wrapper"] = "xl"
        facts["layers"].append("xl")
        at = XL_HEADER_SIZE + optional_len
    if head[at:at + len(LIBXL_IDENT)] == LIBXL_IDENT:
        facts["layers"].append("libxl")
        at += 24   # libxl header and the LIBXC_CONTEXT record
    libxc = head[at:at + 28]
    if len(libxc) >= 16 and libxc[:8] == IHDR_MARKER and \
            struct.unpack_from(">I", libxc, 8)[0] == IHDR_ID:
        facts["layers"].append("libxc")
        facts["version"] = struct.unpack_from(">I", libxc, 12)[0]
        if len(libxc) == 28:
            facts["guest"] = GUESTS.get(struct.unpack_from("<I", libxc, 24)[0])
        return Sniffed("v2", True, "migration stream marker and \"XENF\"", facts)
    if facts["layers"]:
        reason = "xl save file with STREAMv2 set" if facts["wrapper"] else \
            "libxl stream ident \"LibxlFmt\""
        return Sniffed("v2", True, reason, facts, undecided=("guest",))
    return None


FORMAT = Format(
    name="v2",
    description="Xen migration stream v2/v3 (Xen 4.6+), bare, in libxl, or in an xl save file",
    sniff=sniff,
    reader=V2Reader,
    writer=V2Writer,
)
