"""Tiny legacy (Xen 4.5 layout) images built with struct alone: inputs for Xen's converter.

Layouts from spec/legacy.md (its stream order; 64-bit toolstack).
"""

from __future__ import annotations

import struct

from v2_guests import hvm_context, page, physmap


def legacy_pv(pages=4, vcpus=1) -> bytes:
    out = struct.pack("<Q", pages) + b"\xff" * 8
    out += struct.pack("<I", 8 + 5168 + 8) + b"vcpu" + struct.pack("<I", 5168) + bytes(5168)
    out += b"extv" + struct.pack("<I", 0)
    out += struct.pack("<Q", 0)                                   # p2m frame list
    out += struct.pack("<iIQII", -7, 0, 123456789, 2_000_000, 1)  # TSC chunk
    out += struct.pack("<i", pages) + b"".join(struct.pack("<Q", p) for p in range(pages))
    out += b"".join(page(p) for p in range(pages))
    out += struct.pack("<iiQ", -2, vcpus - 1, (1 << vcpus) - 1)
    out += struct.pack("<i", 0) + struct.pack("<I", 0)             # end, no unmapped pfns
    for v in range(vcpus):
        out += bytes([v + 1]) * 5168 + bytes([0x40 + v]) * 128
    return out + b"\x5a" * 4096


def legacy_hvm(pages=3, with_physmap=True) -> bytes:
    out = struct.pack("<Q", pages + 0x20)
    out += struct.pack("<i", pages) + b"".join(struct.pack("<Q", p) for p in range(pages))
    out += b"".join(page(p) for p in range(pages))
    out += struct.pack("<iiQ", -2, 0, 1)
    out += struct.pack("<iIQ", -3, 0, 0xFEFFC000)                 # IDENT_PT -> param 12
    if with_physmap:
        blob = physmap([(0xF0000000, 0xF1000000, 0x800000, b"vga.vram")], width=64)
        out += struct.pack("<iI", -18, len(blob)) + blob
    out += struct.pack("<i", -9) + struct.pack("<i", 0)
    out += struct.pack("<QQQ", pages + 0x10, pages + 0x11, pages + 0x12)
    ctx = hvm_context((0,))
    out += struct.pack("<I", len(ctx)) + ctx
    qemu = b"QEVM" + bytes(60)
    return out + b"DeviceModelRecord0002" + struct.pack("<I", len(qemu)) + qemu
