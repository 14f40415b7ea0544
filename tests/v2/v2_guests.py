"""Deterministic guests as records, for the v2 tests (independent of any reader)."""

from __future__ import annotations

import struct

from xcformat.records import (PAGE_SIZE, EmulatorContext, End, GuestType, HvmContext, HvmParams,
                              ImageHeader, P2MFrames, PageBatch, Physmap, PhysmapEntry, Provenance,
                              SharedInfo, TscInfo, VcpuContext, VcpuExtended, VcpuInfo, VcpuXsave,
                              Wrapper)


def page(pfn: int) -> bytes:
    """A page whose bytes say which pfn it is."""
    return struct.pack("<Q", pfn) * (PAGE_SIZE // 8)


def batch(pfns, types=None) -> PageBatch:
    types = bytes(types) if types is not None else bytes(len(pfns))
    data = b"".join(page(p) for p, t in zip(pfns, types) if t not in (0xD, 0xE, 0xF))
    return PageBatch(tuple(pfns), types, memoryview(data))


def hvm_context(vcpus=(0,)) -> bytes:
    blob = struct.pack("<HHI", 1, 0, 24) + struct.pack("<IIQII", 0x54381286, 1, 0, 0, 0)
    for v in vcpus:
        blob += struct.pack("<HHI", 2, v, 16) + bytes(range(16))
    return blob + struct.pack("<HHI", 0, 0, 0)


def pv_guest(pages=40, bits=64, vcpus=(0, 1), batch_size=16, variant="legacy-4.5",
             xen_version=None, xsave_sizes=None):
    ctx = 5168 if bits == 64 else 2800
    fpp = PAGE_SIZE // (bits // 8)
    records = [ImageHeader(GuestType.PV, pages, guest_bits=bits, toolstack_bits=64,
                           xen_version=xen_version,
                           provenance=Provenance.from_label(variant)),
               P2MFrames(tuple(range((pages - 1) // fpp + 1))),
               TscInfo(0, 123456789, 2_000_000, 1)]
    for lo in range(0, pages, batch_size):
        pfns = list(range(lo, min(pages, lo + batch_size)))
        types = [0x1 if p % 7 == 3 else 0x9 if p % 11 == 5 else 0 for p in pfns]
        records.append(batch(pfns, types))
    records.append(VcpuInfo(max(vcpus), frozenset(vcpus)))
    for i, v in enumerate(vcpus):
        records.append(VcpuContext(v, bytes([v + 1]) * ctx))
        records.append(VcpuExtended(v, bytes([0x40 + v]) * 128))
        size = (xsave_sizes or {}).get(v, 64)
        records.append(VcpuXsave(v, bytes([0x80 + v]) * size, mask=7))
    records += [SharedInfo(b"\x5a" * PAGE_SIZE), End()]
    return records


def hvm_guest(pages=40, vcpus=(0,), batch_size=16, variant="legacy-4.5", xen_version=None,
              qemu=b"QEVM" + bytes(100), physmap=None, wrapper=None):
    records = [] if wrapper is None else [wrapper]
    records += [ImageHeader(GuestType.HVM, pages + 0x20, toolstack_bits=64,
                            xen_version=xen_version,
                            provenance=Provenance.from_label(variant)),
                TscInfo(1, 5, 3_000_000, 0)]
    for lo in range(0, pages, batch_size):
        records.append(batch(range(lo, min(pages, lo + batch_size))))
    records.append(VcpuInfo(max(vcpus), frozenset(vcpus)))
    records.append(HvmParams(((12, 0xFEFFC000), (9, 1))))
    if physmap is not None:
        records.append(physmap)
    records.append(HvmParams(((5, pages + 0x10), (6, pages + 0x11), (1, pages + 0x12))))
    records.append(HvmContext(hvm_context(vcpus)))
    if qemu is not None:
        records.append(EmulatorContext(qemu, signature=b"DeviceModelRecord0002"))
    records.append(End())
    return records


def vga_physmap() -> Physmap:
    """The physmap record of a guest whose qemu maps 8 MiB of VRAM."""
    return Physmap((PhysmapEntry(0xF0000000, 0xF1000000, 0x800000, b"vga.vram"),))


def physmap(entries, width=64) -> bytes:
    out = struct.pack("<II", 1, len(entries))
    for phys, start, size, name in entries:
        name = name + b"\0"
        out += struct.pack("<QQQI", phys, start, size, len(name)) + name
        out += bytes(4) if width == 64 else b""
    return out


def xl_wrapper(config=b'{"c_info": {}}\0', json=True) -> Wrapper:
    return Wrapper("xl", config, {"mandatory_flags": 1 if json else 0, "optional_flags": 0,
                                  "byteorder": 0x01020304})
