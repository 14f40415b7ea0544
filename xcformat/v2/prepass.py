"""Cheap passes over record headers for what v2 states only after the pages.

HVM p2m_size, because v2 HVM streams do not state it.

Legacy writers need ``p2m_size`` (highest pfn + 1) before the first page.  A PV stream states it
(X86_PV_P2M_FRAMES end_pfn + 1); an HVM stream does not.  On a seekable source this pass reads
only record headers, PAGE_DATA pfn arrays (8 bytes per 4 KiB page) and HVM_PARAMS bodies up to the
first END or CHECKPOINT, and returns 1 + the highest pfn named by a PAGE_DATA entry or by a
pfn-valued HVM parameter.  On a pipe it returns None: the ImageHeader then says p2m_size is unknown.

PV xsave size, because legacy states it in the header: see :func:`pv_xsave_size`.

This is how a writer learns a fact ahead of time: the reader, the one module that can parse its
input, reads ahead in it and states the fact in the records; writers never see the input.
"""

from __future__ import annotations

from ..codec import head
from ..errors import XcFormatError
from . import pfns
from .schema import (HVM_PARAM_IOREQ_SERVER_PFN, HVM_PARAM_NR_IOREQ_SERVER_PAGES, HVM_PARAM_PFNS,
                     REC_LENGTH_MAX, RHDR_SIZE, RecType, padding, page_data_header,
                     record_header, vcpu_header)

PAGE_DATA_HEAD = head(page_data_header, "reserved")
#: vcpu_id + reserved before the blob of an X86_PV_VCPU_* record.
VCPU_HEADER_SIZE = head(vcpu_header, "reserved").sizeof()


def _record_heads(source, start: int):
    """``(type, body offset, length)`` of each libxc record from ``start`` up to END/CHECKPOINT."""
    offset = start
    while True:
        header = record_header.parse(source.pread(offset, RHDR_SIZE, "record header"))
        rtype, length = header.type, header.length
        if length > REC_LENGTH_MAX or rtype in (RecType.END, RecType.CHECKPOINT):
            return
        yield rtype, offset + RHDR_SIZE, length
        offset += RHDR_SIZE + length + padding(length)


def hvm_p2m_size(source, start: int) -> int | None:
    """1 + the highest pfn of the libxc records starting at ``start``, or None if unknowable."""
    if not source.seekable:
        return None
    top = -1
    try:
        for rtype, body, length in _record_heads(source, start):
            if rtype == RecType.PAGE_DATA and length >= 16:
                count = PAGE_DATA_HEAD.parse(source.pread(body, PAGE_DATA_HEAD.sizeof(),
                                                          "PAGE_DATA.count")).count
                if PAGE_DATA_HEAD.sizeof() + 8 * count > length:
                    return None
                entries = pfns.pfns_of(source.pread(body + PAGE_DATA_HEAD.sizeof(), 8 * count,
                                                    "pfns"))
                top = max(top, max(entries, default=-1))
            elif rtype == RecType.HVM_PARAMS and length > 8:
                top = max(top, _highest_param_pfn(source.pread(body + 8, length - 8, "params")))
    except XcFormatError:
        return None   # the main pass reports what is wrong, with its offset
    return top + 1 if top >= 0 else None


def pv_xsave_size(source, start: int) -> int | None:
    """Bytes of the first non-empty X86_PV_VCPU_XSAVE blob, or None (none, or a pipe).

    A legacy writer must state this ("xcnt", spec/legacy.md#ext_block_xcnt) before the pages, while
    v2 sends the xsave records after them.  Page bodies are skipped, not read.
    """
    if not source.seekable:
        return None
    try:
        for rtype, _, length in _record_heads(source, start):
            if rtype == RecType.X86_PV_VCPU_XSAVE and length > VCPU_HEADER_SIZE:
                return length - VCPU_HEADER_SIZE
    except XcFormatError:
        pass          # the main pass reports what is wrong, with its offset
    return None


def _highest_param_pfn(body: bytes) -> int:
    values = pfns.u64s(body[:len(body) // 16 * 16])
    params = dict(zip(values[0::2], values[1::2]))
    top = max((v for k, v in params.items() if k in HVM_PARAM_PFNS), default=-1)
    nr = params.get(HVM_PARAM_NR_IOREQ_SERVER_PAGES, 0)
    if nr and HVM_PARAM_IOREQ_SERVER_PFN in params:
        top = max(top, params[HVM_PARAM_IOREQ_SERVER_PFN] + nr - 1)
    return top
