"""Migration stream v2/v3 (Xen 4.6+): the libxc stream, the libxl layer and the xl save file."""

from __future__ import annotations

import struct

from ..formats import Format, Sniffed
from .reader import V2Reader
from .schema import (IHDR_ID, IHDR_MARKER, LIBXL_IDENT, XL_FLAG_STREAMV2, XL_HEADER_SIZE,
                     XL_MAGIC)
from .writer import V2Writer

__all__ = ["FORMAT", "sniff"]


def sniff(head: bytes) -> Sniffed | None:
    """A v2 stream, bare or in a libxl layer or an xl file whose STREAMv2 flag is set."""
    facts: dict = {"wrapper": None}
    at = 0
    if head.startswith(XL_MAGIC):
        if len(head) < XL_HEADER_SIZE:
            return None
        flags, _, optional_len = struct.unpack_from("<III", head, 36)
        if not flags & XL_FLAG_STREAMV2:
            return None   # a legacy stream in an xl file: the legacy format's
        facts["wrapper"] = "xl"
        at = XL_HEADER_SIZE + optional_len
    if head[at:at + 8] == LIBXL_IDENT:
        facts["layers"] = "libxl"
        at += 24   # libxl header and the LIBXC_CONTEXT record
    elif facts["wrapper"] == "xl":
        return Sniffed("v2", False, "xl save file with STREAMv2 set", facts)
    libxc = head[at:at + 40]
    if len(libxc) >= 16 and libxc[:8] == IHDR_MARKER and \
            struct.unpack_from(">I", libxc, 8)[0] == IHDR_ID:
        facts["version"] = struct.unpack_from(">I", libxc, 12)[0]
        if len(libxc) >= 28:
            facts["guest"] = {1: "pv", 2: "hvm"}.get(struct.unpack_from("<I", libxc, 24)[0])
        return Sniffed("v2", True, "migration stream marker and \"XENF\"", facts)
    if facts.get("layers") == "libxl" or facts["wrapper"] == "xl":
        return Sniffed("v2", True, "libxl stream ident \"LibxlFmt\"", facts)
    return None


FORMAT = Format(
    name="v2",
    description="Xen migration stream v2/v3 (Xen 4.6+), bare, in libxl, or in an xl save file",
    sniff=sniff,
    reader=V2Reader,
    writer=V2Writer,
)
