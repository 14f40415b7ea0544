"""The PV guest: where its page tables, p2m frames, start_info and GDTs live, and their contents.

Every pfn a structure names is < p2m_size and is sent as the type a restorer checks for (frame list
NOTAB, cr3 = top-level table, start_info and GDT frames NOTAB: xc_domain_restore.c), and
page-table pages are in canonical form: present PTEs hold pfns, flags are kept.
"""

from __future__ import annotations

import struct
from array import array
from typing import Any

from .pfnroles import PTE_ENTRIES, PfnRoles
from .spec import GuestSpec

PTE_FLAGS = 0x067                 # present, rw, user, accessed, dirty
PTE_FLAGS_READONLY = 0x025        # present, user, accessed: PV page tables are mapped read-only
PTE_NX = 1 << 63
PAE_L3_FLAGS = 0x001              # the saver clears USER|RW|ACCESSED in PAE L3 entries (xc_domain_save.c)
MFN_BASE = 0x100000               # raw (uncanonicalised) frames are pfn + this
INVALID_MFN = {4: 0xFFFFFFFF, 8: 0xFFFFFFFFFFFFFFFF}
#: vcpu_guest_context size by guest width in bytes.
VGC = {4: 2800, 8: 5168}
GDT_ENTRIES = 16


def _pack_words(words) -> bytes:
    return array("Q", words).tobytes()


def _table_entries(targets: range, flags: int) -> list[int]:
    entries = [(pfn << 12) | flags for pfn in targets]
    return entries + [0] * (PTE_ENTRIES - len(entries))


def table_page(spec: GuestSpec, roles: PfnRoles, pfn: int) -> bytes:
    """The canonical contents of page-table page ``pfn``."""
    if pfn in roles.l1:
        first = (pfn - roles.l1.start) * PTE_ENTRIES
        mapped = range(first, min(first + PTE_ENTRIES, spec.pages))
        entries = [(p << 12) | (PTE_FLAGS_READONLY if roles.is_table(p) else PTE_FLAGS | PTE_NX)
                   for p in mapped]
        return _pack_words(entries + [0] * (PTE_ENTRIES - len(entries)))
    if pfn in roles.l2:
        first = roles.l1.start + (pfn - roles.l2.start) * PTE_ENTRIES
        return _pack_words(_table_entries(range(first, min(first + PTE_ENTRIES, roles.l1.stop)),
                                          PTE_FLAGS))
    if pfn == roles.l3:
        return _pack_words(_table_entries(roles.l2, PTE_FLAGS))
    if roles.levels == 4:        # L4: slot 0 -> the L3; slots 256-271 (Xen's) stay zero
        return _pack_words(_table_entries(range(roles.l3, roles.l3 + 1), PTE_FLAGS))
    return _pack_words(_table_entries(roles.l2, PAE_L3_FLAGS))   # PAE L3: entries 4-511 zero


def mfn(spec: GuestSpec, pfn: int) -> int:
    return MFN_BASE + (spec.seed & 0xFFFF) * 0x10 + pfn


def frame_page(spec: GuestSpec, roles: PfnRoles, pfn: int) -> bytes:
    """A page of the guest's own p2m array (raw mfns; INVALID for pfns without memory)."""
    per_page = 4096 // roles.guest_bytes
    first = (pfn - roles.frames.start) * per_page
    invalid = INVALID_MFN[roles.guest_bytes]
    words = [mfn(spec, p) if p < spec.pages else invalid for p in range(first, first + per_page)]
    if roles.guest_bytes == 8:
        return _pack_words(words)
    return struct.pack(f"<{per_page}I", *words)


def start_info_page(spec: GuestSpec, roles: PfnRoles) -> bytes:
    """start_info with store and console frames canonicalised to pfns, as the saver leaves it."""
    if roles.guest_bytes == 8:
        head = struct.pack("<32sQQI4xQI4xQI", b"xen-3.0-x86_64", spec.pages,
                           mfn(spec, spec.p2m_size), 0, roles.store, 1, roles.console, 2)
    else:
        head = struct.pack("<32sIIIIIII", b"xen-3.0-x86_32p", spec.pages,
                           mfn(spec, spec.p2m_size) & 0xFFFFFFFF, 0, roles.store, 1,
                           roles.console, 2)
    return head.ljust(4096, b"\0")


def structure_page(spec: GuestSpec, roles: PfnRoles, pfn: int) -> bytes | None:
    """The contents of a structural pfn, or None for an ordinary (pattern) page."""
    if pfn in roles.frames:
        return frame_page(spec, roles, pfn)
    if roles.is_table(pfn):
        return table_page(spec, roles, pfn)
    if pfn == roles.start_info:
        return start_info_page(spec, roles)
    return None


# --- vcpu state -------------------------------------------------------------

#: Field offsets in vcpu_guest_context by guest width.
_CTX: dict[int, dict[str, tuple[int, Any]]] = {   # field -> (offset, struct code or size)
    8: dict(flags=(512, "Q"), rax=(600, "Q"), rdx=(616, "Q"), rip=(648, "Q"), cs=(656, "H"),
            rflags=(664, "Q"), rsp=(672, "Q"), ss=(680, "H"), trap=(720, 16),
            gdt_frames=(4832, "Q"), gdt_ents=(4960, "Q"), kernel_ss=(4968, "Q"),
            kernel_sp=(4976, "Q"), ctrlreg=(4984, "Q"), callbacks=(5112, "Q"),
            vm_assist=(5136, "Q")),
    4: dict(flags=(512, "I"), rax=(540, "I"), rdx=(524, "I"), rip=(548, "I"), cs=(552, "H"),
            rflags=(556, "I"), rsp=(560, "I"), ss=(564, "H"), trap=(584, 8),
            gdt_frames=(2640, "I"), gdt_ents=(2704, "I"), kernel_ss=(2708, "I"),
            kernel_sp=(2712, "I"), ctrlreg=(2716, "I"), callbacks=(2780, "I"),
            vm_assist=(2796, "I")),
}
_KERNEL = {8: (0xFFFFFFFF81000000, 0xE033, 0xE02B), 4: (0xC0100000, 0xE019, 0xE021)}
VGCF_FLAGS = 0x25          # i387 valid, in kernel, online
VMASST_PAE_EXTENDED_CR3 = 1 << 3


def cr3_of(guest_bytes: int, frame: int) -> int:
    """cr3 encoding of a frame: x86_64 frame << 12; x86_32 the extended-cr3 rotate."""
    if guest_bytes == 8:
        return frame << 12
    return ((frame << 12) | (frame >> 20)) & 0xFFFFFFFF


def vcpu_context(spec: GuestSpec, guest_bytes: int, vcpu: int, *, cr3_frame: int,
                 gdt_frame: int, edx: int, tag: int = 0) -> bytes:
    """A ``vcpu_guest_context`` for ``vcpu``; the caller passes canonical pfns or raw mfns."""
    buf = bytearray(VGC[guest_bytes])
    off = _CTX[guest_bytes]
    word = off["flags"][1]
    kernel, cs, ss = _KERNEL[guest_bytes]

    def put(name, value, index=0):
        at, fmt = off[name]
        struct.pack_into("<" + fmt, buf, at + index * struct.calcsize(fmt), value)

    struct.pack_into("<H", buf, 0, 0x037F)             # fpu control word
    struct.pack_into("<I", buf, 24, 0x1F80)            # mxcsr
    put("flags", VGCF_FLAGS)
    put("rax", tag)
    put("rdx", edx)
    put("rip", kernel + 0x1000 + vcpu * 0x10)
    put("cs", cs)
    put("rflags", 0x200)
    put("rsp", kernel + 0x800000 - vcpu * 0x2000)
    put("ss", ss)
    trap_at, trap_size = off["trap"]
    for vector in range(32):                           # trap_info: vector, flags, cs, address
        struct.pack_into(f"<BBH{'4x' if guest_bytes == 8 else ''}{word}", buf,
                         trap_at + vector * trap_size, vector, 0, cs, kernel + 0x2000 + 16 * vector)
    put("gdt_frames", gdt_frame)
    put("gdt_ents", GDT_ENTRIES)
    put("kernel_ss", ss)
    put("kernel_sp", kernel + 0x800000 - vcpu * 0x2000)
    for index, value in ((0, 0x8005003B), (3, cr3_of(guest_bytes, cr3_frame)), (4, 0x2660)):
        put("ctrlreg", value, index)
    put("callbacks", kernel + 0x3000)
    put("vm_assist", 0x5 | (VMASST_PAE_EXTENDED_CR3 if guest_bytes == 4 and
                            spec.variant != "3.0" else 0))
    return bytes(buf)


def tail_context(spec: GuestSpec, roles: PfnRoles, vcpu: int, checkpoint: int = 0) -> bytes:
    """The canonical context the PV tail carries (cr3, gdt_frames and vcpu 0's edx are pfns)."""
    return vcpu_context(spec, roles.guest_bytes, vcpu, cr3_frame=roles.top,
                        gdt_frame=roles.gdt[vcpu], edx=roles.start_info if vcpu == 0 else 0,
                        tag=checkpoint)


def raw_context(spec: GuestSpec, roles: PfnRoles) -> bytes:
    """vcpu 0's context as the ext-info "vcpu" block carries it: raw mfns."""
    return vcpu_context(spec, roles.guest_bytes, 0, cr3_frame=mfn(spec, roles.top),
                        gdt_frame=mfn(spec, roles.gdt[0]), edx=mfn(spec, roles.start_info))


def extended_context(spec: GuestSpec, vcpu: int) -> bytes:
    """The 128-byte extended vcpu context slot."""
    size = spec.info.ext_context_size
    head = struct.pack("<IIQQHHBB2x", vcpu, size, 0xFFFFFFFF81001000, 0xFFFFFFFF81002000,
                       0xE023, 0xE008, 1, 1)
    if size >= 56:
        head += struct.pack("<QQQ", 0x1000A09, 0, 0)       # vMCE: mcg_cap (4.2+)
    return head.ljust(128, b"\0")


XSAVE_MASK = 0x7                 # host xfeature_mask: x87 | SSE | AVX
XSAVE_AREA = {0x7: 832, 0x3: 576}     # by xcr0_accum: legacy 512 + header 64 (+ AVX 256)
XSAVE_RECORD = 16 + 16 + XSAVE_AREA[0x7]   # "xcnt" X: mask, size, then S = 16 + area bytes


def xsave_accum(spec: GuestSpec, vcpu: int) -> int:
    """A vcpu's xcr0_accum: odd vcpus never used AVX when ``xsave_per_vcpu`` (4.4+)."""
    return 0x3 if spec.xsave_per_vcpu and vcpu % 2 else XSAVE_MASK


def xsave_record(spec: GuestSpec, vcpu: int) -> bytes:
    """u64 xfeature_mask, u64 S, then S bytes: xcr0, xcr0_accum, XSAVE area.  Since 4.4
    S follows the vcpu's own xcr0_accum, so it may differ from "xcnt" − 16."""
    accum = xsave_accum(spec, vcpu)
    area = bytearray(XSAVE_AREA[accum])
    struct.pack_into("<H22xI", area, 0, 0x037F, 0x1F80)     # fcw, mxcsr
    struct.pack_into("<Q", area, 512, accum)            # XSTATE_BV
    struct.pack_into("<II", area, 64, vcpu, spec.seed & 0xFFFFFFFF)   # a recognisable word
    return struct.pack("<QQQQ", XSAVE_MASK, 16 + len(area), accum, accum) + area


#: shared_info.arch offset by guest width and the structure's size.
_SHINFO_ARCH = {8: (3088, 3368), 4: (2316, 2584)}


def shared_info_page(spec: GuestSpec, roles: PfnRoles, checkpoint: int = 0) -> bytes:
    """The shared-info page: arch.max_pfn set, frame_list_list zeroed, a tag after the
    structure so a reader that mixes up tail items is caught."""
    page = bytearray(4096)
    arch, end = _SHINFO_ARCH[roles.guest_bytes]
    fmt = "<Q" if roles.guest_bytes == 8 else "<I"
    struct.pack_into(fmt, page, arch, spec.p2m_size)
    struct.pack_into("<4sII", page, end, b"shin", spec.seed & 0xFFFFFFFF, checkpoint)
    return bytes(page)
