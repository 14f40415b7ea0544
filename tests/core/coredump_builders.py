"""Records and dumps for the core-dump tests: small synthetic guests built here, so the tests do
not depend on the other formats' readers."""

from __future__ import annotations

import random
import re
import struct

from xcformat.core import FORMAT
from xcformat.core.reader import reader_for
from xcformat.core.writer import CoreWriter
from xcformat.errors import FormatError
from xcformat.formats import WriteOptions
from xcformat.io import open_sink, open_source
from xcformat.testing import read_records
from xcformat.records import (PAGE_SIZE, End, GuestType, HvmContext, ImageHeader, PageBatch,
                              SharedInfo, VcpuContext)

#: Offsets of rip and cr3 in the x86_64 and x86_32 contexts.
RIP = {64: 648, 32: 516 + 32}
CR3 = {64: 5008, 32: 2728}
CTX = {64: 5168, 32: 2800}


def page(pfn: int) -> bytes:
    """The deterministic content of guest page ``pfn``."""
    return (pfn.to_bytes(8, "little") + b"xcfmcore") * (PAGE_SIZE // 16)


def context(bits: int, vcpu: int) -> bytes:
    ctx = bytearray(CTX[bits])
    word = bits // 8
    ctx[RIP[bits]:RIP[bits] + word] = (0xFFFF800000100000 + vcpu if bits == 64
                                       else 0xC0100000 + vcpu).to_bytes(word, "little")
    # cr3 -> pfn 1 + vcpu, a page every test guest holds (so the #58 check is satisfied)
    ctx[CR3[bits]:CR3[bits] + word] = ((1 + vcpu) << 12).to_bytes(word, "little")
    ctx[512] = 1 << 5    # VGCF_online
    return bytes(ctx)


def guest_records(pfns, *, guest=GuestType.PV, bits=64, vcpus=2, batch=5, resend=(),
                  shared_info=True, seed=0, gmfns=None):
    """Records of a guest holding ``pfns`` (in the given order), in batches of ``batch``; pfns in
    ``resend`` are sent twice, the first copy with garbage content (the last copy wins)."""
    pfns = list(pfns)
    rng = random.Random(seed)
    yield ImageHeader(guest=guest, p2m_size=max(pfns) + 1,
                      guest_bits=bits if guest is GuestType.PV else None, xen_version=(4, 1))
    for pfn in resend:
        yield PageBatch((pfn,), b"\x00", memoryview(bytes([rng.randrange(256)]) * PAGE_SIZE))
    for start in range(0, len(pfns), batch):
        part = pfns[start:start + batch]
        yield PageBatch(tuple(part), bytes(len(part)),
                        memoryview(b"".join(page(p) for p in part)),
                        tuple(gmfns[p] for p in part) if gmfns else None)
    if guest is GuestType.PV:
        for vcpu in range(vcpus):
            yield VcpuContext(vcpu, context(bits, vcpu))
    else:
        yield HvmContext(hvm_blob(vcpus))
    if shared_info:
        yield SharedInfo(bytes(range(256)) * 16)
    yield End()


def write_dump(path, records, *, align=False, io="buffered"):
    said = []
    with open_sink(str(path), io) as sink:
        CoreWriter(sink, WriteOptions(align=align, say=said.append)).write(records)
    return said


def read_all(path):
    """(reader, records with page data copied) of the dump at ``path``."""
    records, _, r = read_records(path, FORMAT)
    return r, records


def pages_of(records):
    """pfn -> page bytes, from PageBatch records."""
    found = {}
    for record in records:
        if isinstance(record, PageBatch):
            for i, pfn in enumerate(record.pfns):
                found[pfn] = bytes(record.data[i * PAGE_SIZE:(i + 1) * PAGE_SIZE])
    return found


#: Offsets in struct hvm_hw_cpu (xen/include/public/arch-x86/hvm/save.h): rsp, rip, cr3,
#: cs_sel, gs_base, shadow_gs.
HVM_CPU = {"rsp": 512 + 56, "rip": 512 + 128, "cr3": 512 + 160, "cs_sel": 512 + 224,
           "gs_base": 512 + 328, "shadow_gs": 512 + 432}
HVM_CPU_SIZE = 1024   # longer than the 952-byte head the dump uses


def hvm_cpu(vcpu: int) -> bytes:
    cpu = bytearray(HVM_CPU_SIZE)
    for name, value in (("rsp", 0x7000 + vcpu), ("rip", 0xFFFFFFFF81000000 + vcpu),
                        ("cr3", (1 + vcpu) << 12), ("gs_base", 0xAAAA), ("shadow_gs", 0xBBBB)):
        struct.pack_into("<Q", cpu, HVM_CPU[name], value)
    struct.pack_into("<I", cpu, HVM_CPU["cs_sel"], 0x10)
    return bytes(cpu)


def hvm_blob(vcpus: int) -> bytes:
    """An HVM context blob: HEADER, one CPU record per vCPU, END (typecodes 1, 2, 0)."""
    def record(kind, instance, payload):
        return struct.pack("<HHI", kind, instance, len(payload)) + payload

    header = struct.pack("<IIQII", 0x54381286, 1, 0, 0, 0)
    return (record(1, 0, header) + b"".join(record(2, v, hvm_cpu(v)) for v in range(vcpus))
            + record(0, 0, b""))


def verdicts(path) -> set[tuple[str, int | None]]:
    """(level, check number) of every finding, the fatal error included."""
    found = set()
    with open_source(str(path)) as source:
        r = reader_for(source)
        try:
            for _ in r.records():
                pass
        except FormatError as exc:
            found.add(("error", _number(exc.message)))
        found |= {(f.level, _number(f.message)) for f in r.findings}
    return found


def _number(message: str) -> int | None:
    match = re.search(r"dump check #(\d+)", message)
    return int(match.group(1)) if match else None
