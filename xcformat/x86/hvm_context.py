"""The HVM context blob (``XEN_DOMCTL_gethvmcontext``): framed save records from the hypervisor.

A sequence of ``{u16 typecode, u16 instance, u32 length, payload}`` that begins with a HEADER
record (typecode 1, magic 0x54381286) and ends with an END record (typecode 0, length 0).  The
vCPU register state of an HVM guest is inside (typecode 2, one per vCPU).  Layouts from Xen's
``xen/include/public/hvm/save.h`` and ``arch-x86/hvm/save.h``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from construct import Int16ul, Int32ul, Int64ul, Struct

from ..errors import FormatError
from ..schema import document
from .fields import field_value
from .vcpu import XEN_450

HVM_FILE_MAGIC = 0x54381286
TYPE_END = 0
TYPE_HEADER = 1
TYPE_CPU = 2

DESCRIPTOR = document(
    "x86", "hvm_save_descriptor", Struct(
        "typecode" / Int16ul * "record type (0 END, 1 HEADER, 2 CPU, ...)",
        "instance" / Int16ul * "instance within the type (the vCPU id for CPU records)",
        "length" / Int32ul * "payload bytes, not counting this descriptor",
    ), title="HVM save record descriptor", since="3.1",
    source=f"{XEN_450}:xen/include/public/hvm/save.h",
    doc="Frames every record of the HVM context blob; the payload follows directly.")

HEADER = document(
    "x86", "hvm_save_header", Struct(
        "magic" / Int32ul * "HVM_FILE_MAGIC, 0x54381286",
        "version" / Int32ul * "blob format version (1)",
        "changeset" / Int64ul * "version of the Xen that saved it",
        "cpuid" / Int32ul * "CPUID leaf 1 EAX of the saving host",
        "gtsc_khz" / Int32ul * "guest TSC frequency in kHz (later versions; 0 before)",
    ), title="HVM save header record payload", since="3.1",
    source=f"{XEN_450}:xen/include/public/arch-x86/hvm/save.h",
    doc="Payload of the first record (typecode 1).  Older blobs carry a shorter payload "
        "without gtsc_khz; only the magic is checked.")

_DESCRIPTOR_SIZE = DESCRIPTOR.sizeof()


@dataclass(frozen=True)
class HvmContextSummary:
    records: int      #: records including HEADER and END
    cpus: int         #: CPU records (typecode 2): the HVM guest's vCPU count


def iter_hvm_records(blob: bytes | memoryview, *, base: int = 0, file: str | None = None
                     ) -> Iterator[tuple[int, int, int, memoryview]]:
    """``(offset, typecode, instance, payload)`` of each record, checking the framing.

    Offsets are ``base`` + position in the blob, so errors point into the file that holds it.
    """
    view = memoryview(blob)
    pos = 0
    while pos < len(view):
        if len(view) - pos < _DESCRIPTOR_SIZE:
            raise FormatError("HVM context ends inside a record descriptor", file=file,
                              offset=base + pos, field="hvm_context.descriptor")
        desc = DESCRIPTOR.parse(view[pos:pos + _DESCRIPTOR_SIZE])
        start = pos + _DESCRIPTOR_SIZE
        if desc.length > len(view) - start:
            raise FormatError(f"HVM record type {desc.typecode} length {desc.length} overruns "
                              f"the context ({len(view) - start} bytes left)", file=file,
                              offset=base + pos, field="hvm_context.descriptor.length")
        yield base + pos, desc.typecode, desc.instance, view[start:start + desc.length]
        pos = start + desc.length


def check_hvm_context(blob: bytes | memoryview, *, base: int = 0, file: str | None = None
                      ) -> HvmContextSummary:
    """Check that ``blob`` starts with HEADER, ends with END and is framed soundly."""
    records = cpus = 0
    last = None
    for offset, typecode, instance, payload in iter_hvm_records(blob, base=base, file=file):
        if records == 0:
            if typecode != TYPE_HEADER or len(payload) < 4:
                raise FormatError(f"HVM context does not begin with a HEADER record (typecode "
                                  f"{typecode}, length {len(payload)})", file=file,
                                  offset=offset, field="hvm_context.header")
            magic = field_value(HEADER, payload, "magic")
            if magic != HVM_FILE_MAGIC:
                raise FormatError(f"HVM context header magic {magic:#x}, expected "
                                  f"{HVM_FILE_MAGIC:#x}", file=file, offset=offset + 8,
                                  field="hvm_context.header.magic")
        elif last is not None and last[1] == TYPE_END:
            raise FormatError("HVM context has records after its END record", file=file,
                              offset=offset, field="hvm_context.end")
        records += 1
        cpus += typecode == TYPE_CPU
        last = (offset, typecode, instance, len(payload))
    if last is None:
        raise FormatError("HVM context is empty", file=file, offset=base, field="hvm_context")
    if last[1:] != (TYPE_END, 0, 0):
        raise FormatError("HVM context does not end with an END record (0/0/0)", file=file,
                          offset=last[0], field="hvm_context.end")
    return HvmContextSummary(records=records, cpus=cpus)
