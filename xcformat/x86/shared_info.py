"""The guest-width ``shared_info`` page: where its ``arch`` part lies.

Save images carry the whole 4096-byte page; only ``arch`` (``max_pfn`` and the frame-list-list
pointer, which savers zero) matters to a reader.  Offsets from Xen's ``xen/include/public/xen.h``
(``struct shared_info``) at 4.5.0, the same at the 2007 snapshot.
"""

from __future__ import annotations

import functools

from construct import Array, Bytes, Int32ul, Int64ul, Struct

from ..schema import document
from .vcpu import XEN_450

#: Offset of ``shared_info.arch`` inside the page, by guest width in bits: 32 vcpu_info slots of
#: 64 bytes, event-channel pending and mask bitmaps (``sizeof(ulong)*8`` words each), wallclock.
SHARED_INFO_ARCH_OFFSET = {32: 2316, 64: 3088}


@functools.cache
def shared_info_arch(bits: int) -> Struct:
    """The 4096-byte shared-info page of a ``bits``-wide guest, with ``arch`` named."""
    ulong = Int64ul if bits == 64 else Int32ul
    head = SHARED_INFO_ARCH_OFFSET[bits]
    arch = Struct(
        "max_pfn" / ulong * "highest pfn that appears in the guest's p2m",
        "pfn_to_mfn_frame_list_list" / ulong * "frame of the p2m frame-list list; savers write 0",
        "nmi_reason" / ulong * "NMI reason bits",
        "pad" / Array(32, Int64ul) * "reserved",
    )
    struct = Struct(
        "vcpu_info_evtchn_wallclock" / Bytes(head) * (
            "vcpu_info[32], evtchn_pending, evtchn_mask, wc_version/wc_sec/wc_nsec"
            + (" and wc_sec_hi (x86_64)" if bits == 64 else "")),
        "arch" / arch * "struct arch_shared_info",
        "unused" / Bytes(4096 - head - arch.sizeof()) * "rest of the page, not part of "
                                                        "struct shared_info",
    )
    return document(
        "x86", f"shared_info_{bits}", struct, title=f"shared_info page (x86_{bits} guest)",
        since="3.0", source=f"{XEN_450}:xen/include/public/xen.h",
        doc=f"The page Xen shares with a PV guest; struct shared_info is "
            f"{head + arch.sizeof()} bytes for x86_{bits}.")
