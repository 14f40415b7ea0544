"""A walk over the HVM context blob: is it framed soundly, and which vCPUs does it hold?

The blob is a run of ``{u16 typecode, u16 instance, u32 length, payload}`` descriptors from a
HEADER (typecode 1, magic 0x54381286) to an END (typecode 0, length 0); CPU state is typecode 2,
one per vCPU (``instance`` = vCPU id).  Source: legacy-save-stream.md §2.9,
``xen/include/public/arch-x86/hvm/save.h``.
"""

from __future__ import annotations

import struct

HEADER_TYPE = 1
CPU_TYPE = 2
HEADER_MAGIC = 0x54381286
_DESC = struct.Struct("<HHI")


def vcpus_in(blob: bytes) -> tuple[frozenset[int], str | None]:
    """The vCPU ids of the CPU records, and what is wrong with the framing (None when sound)."""
    vcpus = set()
    offset = 0
    first = True
    while offset + _DESC.size <= len(blob):
        typecode, instance, length = _DESC.unpack_from(blob, offset)
        offset += _DESC.size
        if length > len(blob) - offset:
            return frozenset(vcpus), (f"save record {typecode} at blob offset "
                                      f"{offset - _DESC.size} overruns the blob")
        if first:
            magic = struct.unpack_from("<I", blob, offset)[0] if length >= 4 else None
            if typecode != HEADER_TYPE or magic != HEADER_MAGIC:
                return frozenset(vcpus), "does not start with a HEADER save record"
            first = False
        elif typecode == 0 and length == 0:
            if offset != len(blob):
                return frozenset(vcpus), f"{len(blob) - offset} bytes after the END save record"
            return frozenset(vcpus), None
        elif typecode == CPU_TYPE:
            vcpus.add(instance)
        offset += length
    return frozenset(vcpus), "does not end with an END save record"
