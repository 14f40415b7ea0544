"""HVM p2m_size: a cheap pass over record headers, because v2 HVM streams do not state it.

Legacy writers need ``p2m_size`` (highest pfn + 1) before the first page.  A PV stream states it
(X86_PV_P2M_FRAMES end_pfn + 1); an HVM stream does not.  On a seekable source this pass reads
only record headers, PAGE_DATA pfn arrays (8 bytes per 4 KiB page) and HVM_PARAMS bodies up to the
first END or CHECKPOINT, and returns 1 + the highest pfn named by a PAGE_DATA entry or by a
pfn-valued HVM parameter.  On a pipe it returns None: the ImageHeader then says p2m_size is unknown.

PV streams deliver X86_PV_VCPU_XSAVE in the tail, but a legacy writer must state the xsave record
size ("xcnt", legacy sheet §2.3/§2.8) before the p2m frame list: :func:`pv_xsave_size` finds it
the same way, reading 8 bytes of each vCPU record header.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from ..errors import XcFormatError
from . import pfns
from .schema import (HVM_PARAM_IOREQ_SERVER_PFN, HVM_PARAM_NR_IOREQ_SERVER_PAGES, HVM_PARAM_PFNS,
                     REC_LENGTH_MAX, RHDR_SIZE, RecType, padding)

_RHDR = struct.Struct("<II")


def _record_bodies(source, start: int) -> Iterator[tuple[int, int, int]]:
    """``(type, length, body offset)`` of each libxc record up to the first END or CHECKPOINT.

    Raises XcFormatError on a record that cannot be walked; callers give up then (the main pass
    reports what is wrong, with its offset).
    """
    offset = start
    while True:
        rtype, length = _RHDR.unpack(source.pread(offset, RHDR_SIZE, "record header"))
        if length > REC_LENGTH_MAX:
            raise XcFormatError("record length beyond the limit")
        body = offset + RHDR_SIZE
        yield rtype, length, body
        if rtype in (RecType.END, RecType.CHECKPOINT):
            return
        offset = body + length + padding(length)


def hvm_p2m_size(source, start: int) -> int | None:
    """1 + the highest pfn of the libxc records starting at ``start``, or None if unknowable."""
    if not source.seekable:
        return None
    top = -1
    try:
        for rtype, length, body in _record_bodies(source, start):
            if rtype == RecType.PAGE_DATA and length >= 16:
                count = struct.unpack("<I", source.pread(body, 4, "PAGE_DATA.count"))[0]
                if 8 + 8 * count > length:
                    return None
                top = max(top, max(pfns.pfns_of(source.pread(body + 8, 8 * count, "pfns"))))
            elif rtype == RecType.HVM_PARAMS and length > 8:
                top = max(top, _highest_param_pfn(source.pread(body + 8, length - 8, "params")))
    except XcFormatError:
        return None
    return top + 1 if top >= 0 else None


def pv_xsave_size(source, start: int) -> int | None:
    """The size of vCPU 0's xsave state (xcr0, xcr0_accum, XSAVE area) in the first snapshot.

    None when vCPU 0 has none (no record, or the empty one Xen 4.6-4.8 wrote) or when it cannot
    be known here (a pipe, or a stream the main pass will reject).
    """
    if not source.seekable:
        return None
    try:
        for rtype, length, body in _record_bodies(source, start):
            if rtype == RecType.X86_PV_VCPU_XSAVE and length > 8:
                vcpu_id = struct.unpack("<I", source.pread(body, 4, "vcpu_id"))[0]
                if vcpu_id == 0:
                    return length - 8
    except XcFormatError:
        return None
    return None


def _highest_param_pfn(body: bytes) -> int:
    values = pfns.u64s(body[:len(body) // 16 * 16])
    params = dict(zip(values[0::2], values[1::2]))
    top = max((v for k, v in params.items() if k in HVM_PARAM_PFNS), default=-1)
    nr = params.get(HVM_PARAM_NR_IOREQ_SERVER_PAGES, 0)
    if nr and HVM_PARAM_IOREQ_SERVER_PFN in params:
        top = max(top, params[HVM_PARAM_IOREQ_SERVER_PFN] + nr - 1)
    return top
