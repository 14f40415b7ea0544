"""Migration stream v2/v3 (Xen 4.6+): the libxc stream, the libxl layer and the xl save file.

What the reader's records say beyond the stream's own records (for writers of other formats):

* ``ImageHeader`` comes after the static records: ``guest_bits`` from X86_PV_INFO, ``p2m_size``
  from X86_PV_P2M_FRAMES (PV) or, for HVM, which does not state it, from a pre-pass over record
  headers and pfn arrays on seekable files (:mod:`.prepass`; None on pipes).  ``provenance``
  is format ``"v2"`` with the stream's version, and toolstack libxl when a libxl layer carried
  the stream; ``xen_version`` is
  the domain header's (``(0, 1)``: written by a converter).
* ``VcpuInfo`` (the online set) comes before each run of PV vCPU records and before an HVM
  context (from its CPU save records), as a legacy writer needs it for chunk -2.
* STATIC_DATA_END is not a record: the writer puts it where v3 needs it.  CHECKPOINT is a
  ``Checkpoint`` after the snapshot's libxl emulator records.  Unknown optional records are
  ``Opaque("v2", "record-0x...")``; VERIFY is ``Opaque("v2", "verify")``.
* EMULATOR_XENSTORE_DATA holding exactly libxl's ``physmap/...`` keys is a ``Physmap``, as is a
  TOOLSTACK record holding libxl's physmap blob; other xenstore data stays
  ``EmulatorXenstore``, other toolstack data ``Toolstack``.
* An xl ``Wrapper``'s ``mandatory_flags`` lack STREAMv2 (it describes the file's layering, and the
  v2 writer sets it again).
"""

from __future__ import annotations

import construct

from .. import codec
from ..formats import Capabilities, Format, Sniffed, deferred
from .schema import (IHDR_SIZE, LIBXL_HEADER_SIZE, LIBXL_IDENT, RHDR_SIZE, VERSIONS, WRAPS,
                     XL_FLAG_STREAMV2, XL_HEADER_SIZE, XL_MAGIC, domain_header, image_header,
                     xl_header)

__all__ = ["CAPABILITIES", "FORMAT", "sniff"]

GUESTS = {1: "pv", 2: "hvm"}
#: What a sniff reads of the image and domain headers: marker, "XENF" and version; guest type.
_IMAGE_IDENT = codec.head(image_header, "version")
_DOMAIN_TYPE = codec.head(domain_header, "type")


def _image_ident(libxc: bytes):
    """The image header's first fields when ``libxc`` starts with one, else None."""
    try:
        return _IMAGE_IDENT.parse(libxc)
    except construct.ConstructError:
        return None


def sniff(head: bytes) -> Sniffed | None:
    """A v2 stream, bare, in a libxl layer, or in an xl file whose STREAMv2 flag is set."""
    facts: dict = {"wrapper": None, "layers": []}
    at = 0
    if head.startswith(XL_MAGIC):
        if len(head) < XL_HEADER_SIZE:
            return None
        xl = xl_header.parse(head)
        if not xl.mandatory_flags & XL_FLAG_STREAMV2:
            return None   # a legacy stream in an xl file: the legacy format's
        facts["wrapper"] = "xl"
        facts["layers"].append("xl")
        at = XL_HEADER_SIZE + xl.optional_data_len
    if head[at:at + len(LIBXL_IDENT)] == LIBXL_IDENT:
        facts["layers"].append("libxl")
        at += LIBXL_HEADER_SIZE + RHDR_SIZE   # libxl header and the LIBXC_CONTEXT record
    libxc = head[at:at + IHDR_SIZE + _DOMAIN_TYPE.sizeof()]
    ident = _image_ident(libxc)
    if ident is not None:
        facts["layers"].append("libxc")
        facts["version"] = ident.version
        if len(libxc) == IHDR_SIZE + _DOMAIN_TYPE.sizeof():
            facts["guest"] = GUESTS.get(_DOMAIN_TYPE.parse(libxc[IHDR_SIZE:]).type)
        return Sniffed("v2", True, "migration stream marker and \"XENF\"", facts)
    if facts["layers"]:
        reason = "xl save file with STREAMv2 set" if facts["wrapper"] else \
            "libxl stream ident \"LibxlFmt\""
        return Sniffed("v2", True, reason, facts, undecided=("guest",))
    return None


CAPABILITIES = Capabilities(
    noun="v2 streams",
    versions=VERSIONS,
    aligned="PAGE_DATA records sized so that pages start on 4 KiB boundaries",
    wraps=WRAPS,
)

FORMAT = Format(
    name="v2",
    description="Xen migration stream v2/v3 (Xen 4.6+), bare, in libxl, or in an xl save file",
    sniff=sniff,
    reader=deferred("xcformat.v2.reader", "V2Reader"),
    writer=deferred("xcformat.v2.writer", "V2Writer"),
    capabilities=CAPABILITIES,
)
