"""Small legacy images built with struct.pack, for tests until xcformat.synth covers them.

Each builder returns an :class:`Image`: the bytes and the offset of every named part, so a test
can mutate one field with ``struct.pack_into``.  Layouts follow legacy-save-stream.md §2, §4, §12.
"""

from __future__ import annotations

import struct

VGC = {32: 2800, 64: 5168}
CR3_OFFSET = {32: 2728, 64: 5008}
EDX_OFFSET = {32: 524, 64: 616}
GDT_ENTS_OFFSET = {32: 2704, 64: 4960}
GDT_FRAMES_OFFSET = {32: 2640, 64: 4832}
HVM_MAGIC = 0x54381286
XL_MAGIC = b"Xen saved domain, xl format\n \0 \r"


class Image:
    def __init__(self, w: int):
        self.w = w
        self.data = bytearray()
        self.at: dict[str, int] = {}

    def put(self, name: str, data: bytes) -> None:
        self.at.setdefault(name, len(self.data))
        self.data += data

    def ulong(self, *values: int) -> bytes:
        return struct.pack(f"<{len(values)}{'Q' if self.w == 64 else 'I'}", *values)

    def batch(self, name: str, entries: list[int], pages: int) -> None:
        self.put(name, struct.pack("<i", len(entries)) + self.ulong(*entries))
        self.put(name + ".pages", bytes((len(self.data) + i) % 251 for i in range(4096)) * pages)

    def __bytes__(self) -> bytes:
        return bytes(self.data)


def page(t: int, pfn: int) -> int:
    return (t << 28) | pfn


def pv_context(g: int, vcpu: int, cr3_pfn: int = 2, gdt_pfn: int = 3, start_info: int = 0) -> bytes:
    ctx = bytearray(VGC[g])
    fmt = "<Q" if g == 64 else "<I"
    cr3 = cr3_pfn << 12 if g == 64 else ((cr3_pfn << 12) | (cr3_pfn >> 20)) & 0xFFFFFFFF
    struct.pack_into(fmt, ctx, CR3_OFFSET[g], cr3)
    struct.pack_into(fmt, ctx, GDT_ENTS_OFFSET[g], 16)
    struct.pack_into(fmt, ctx, GDT_FRAMES_OFFSET[g], gdt_pfn)
    if vcpu == 0:
        struct.pack_into(fmt, ctx, EDX_OFFSET[g], start_info)
    return bytes(ctx)


def pv(w: int = 64, g: int = 64, *, ext: tuple[str, ...] = ("vcpu", "extv", "xcnt"),
       vcpus: tuple[int, ...] = (0, 1), chunks: bool = True, xtab: int = 0xF0000000,
       p2m_size: int = 16, checkpoints: int = 1, before: bytes = b"") -> Image:
    """A PV image; ``ext=()`` gives the pre-3.2 layout, ``chunks=False`` the 3.0.x one."""
    img = Image(w)
    top = 4 if g == 64 else 3
    xcnt = 16 + 64
    img.put("p2m_size", img.ulong(p2m_size))
    if ext:
        blocks = b""
        for block in ext:
            payload = {"vcpu": pv_context(g, 0), "extv": b"", "xcnt": struct.pack("<I", xcnt)}[block]
            blocks += block.encode() + struct.pack("<I", len(payload)) + payload
        img.put("ext", img.ulong((1 << w) - 1) + struct.pack("<I", len(blocks)))
        img.put("ext.blocks", blocks)
    img.put("frames", img.ulong(1))
    for index in range(checkpoints):
        if chunks:
            img.put("chunk-7", struct.pack("<iIQII", -7, 0, 123456789, 2400000, 1))
        img.put("before", before)
        img.batch("batch", [page(0, 0), page(0, 1), page(8 | top, 2), page(0, 3), page(1, 4),
                            xtab], 5)
        if chunks:
            bitmap = sum(1 << v for v in vcpus)
            img.put("chunk-2", struct.pack("<iiQ", -2, max(vcpus), bitmap))
            img.put("chunk-18", struct.pack("<iIII", -18, 8, 1, 0))
            if checkpoints == 1:
                img.put("chunk-9", struct.pack("<i", -9))
        img.put("end", struct.pack("<i", 0))
        img.put("tail", struct.pack("<I", 1) + img.ulong(p2m_size - 1))
        for vcpu in (vcpus if chunks else (0,)):
            img.put(f"vcpu{vcpu}", pv_context(g, vcpu))
            if "extv" in ext:
                img.put(f"vcpu{vcpu}.ext", struct.pack("<II", vcpu, 56) + bytes(120))
            if "xcnt" in ext:
                img.put(f"vcpu{vcpu}.xsave", struct.pack("<QQ", 7, xcnt - 16) + bytes(xcnt - 16))
        img.put("shared_info", bytes(4096))
    return img


def hvm_context(cpus: int = 2) -> bytes:
    def record(typecode, instance, payload):
        return struct.pack("<HHI", typecode, instance, len(payload)) + payload
    return (record(1, 0, struct.pack("<IIQII", HVM_MAGIC, 1, 0, 0x306c3, 2400000))
            + b"".join(record(2, i, bytes(1024)) for i in range(cpus)) + record(0, 0, b""))


def hvm(w: int = 64, *, qemu: bytes | None = b"DeviceModelRecord0002", checkpoints: int = 1,
        dev2007: bool = False, p2m_size: int = 0x100, before: bytes = b"") -> Image:
    """An HVM image (3.1+ tail, or the 2007 development tail)."""
    img = Image(w)
    img.put("p2m_size", img.ulong(p2m_size))
    for index in range(checkpoints):
        if not dev2007:
            img.put("chunk-7", struct.pack("<iIQII", -7, 0, 5, 2400000, 1))
        img.put("before", before)
        entries = [0, 1, 2, 3] if dev2007 else [page(0, 0), page(0, 1), page(0xE, 2),
                                               page(0xD, 3), 0xF0000000]
        img.batch("batch", entries, 4 if dev2007 else 2)
        if not dev2007:
            img.put("chunk-2", struct.pack("<iiQ", -2, 1, 3))
            img.put("chunk-3", struct.pack("<iIQ", -3, 0, 0xFEFFC000))
            img.put("chunk-19", struct.pack("<iIQ", -19, 0, 0xFF000))
            img.put("chunk-20", struct.pack("<iIQ", -20, 0, 2))
            name = b"01234567890123456789\0"
            physmap = struct.pack("<II", 1, 1) + struct.pack("<QQQI", 0xF0000000, 0, 1 << 20,
                                                              len(name)) + name
            physmap += bytes(4) if w == 64 else b""
            img.put("chunk-18", struct.pack("<iI", -18, len(physmap)) + physmap)
            if checkpoints == 1:
                img.put("chunk-9", struct.pack("<i", -9))
        img.put("end", struct.pack("<i", 0))
        context = hvm_context()
        if dev2007:
            img.put("tail", struct.pack("<I", len(context)) + context + struct.pack("<I", 1))
            img.put("tail.vcpus", struct.pack("<I", VGC[w]) + bytes(VGC[w]) + struct.pack("<I", 9))
        else:
            img.put("tail", struct.pack("<QQQI", 0xFE, 0xFD, 0xFC, len(context)) + context)
        if qemu == b"QemuDeviceModelRecord":
            img.put("qemu", qemu + b"QEVM" + bytes(100))
        elif qemu is not None:
            img.put("qemu", qemu + struct.pack("<I", 50) + bytes(range(50)))
    return img


def xl(inner: Image, config: bytes = b'name = "guest"\n', mandatory: int = 0) -> Image:
    out = Image(inner.w)
    optional = struct.pack("<I", len(config)) + config
    out.put("xl", XL_MAGIC + struct.pack("<IIII", 0x01020304, mandatory, 0, len(optional))
            + optional)
    _append(out, inner)
    return out


def xend(inner: Image, config: bytes = b"(vm (name guest))") -> Image:
    out = Image(inner.w)
    out.put("xend", b"LinuxGuestRecord" + struct.pack(">i", len(config)) + config)
    _append(out, inner)
    return out


def _append(out: Image, inner: Image) -> None:
    base = len(out.data)
    out.data += inner.data
    for name, offset in inner.at.items():
        out.at.setdefault(name, base + offset)


def tmem(pages: int = 1, page_shift: int = 0) -> bytes:
    """A -5 chunk with one persistent pool holding ``pages`` pages, then a -6 chunk."""
    out = struct.pack("<iIII", -5, 1, 16, 0xFFFFFFFF) + struct.pack("<IIII", 0, 0, 0, 0xFFFFFFFF)
    out += struct.pack("<IIIQQ", 0, 1 | page_shift << 4, pages, 1, 2)
    for index in range(pages):
        out += struct.pack("<QQQI", 5, 0, 0, index) + bytes([index]) * 4096
    out += struct.pack("<I", 0xFFFFFFFF)
    return out + struct.pack("<i", -6) + struct.pack("<IQQQI", 0, 5, 0, 0, 9) + \
        struct.pack("<I", 0xFFFFFFFF)
