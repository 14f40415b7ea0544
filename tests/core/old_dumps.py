"""Hand-assembled ELF dumps in the layouts our writer never produces:
ELFCLASS32 (2007-02-24..03-06), 32-bit toolstacks (1276-byte xen_version note, 2800 stride,
offsets = 4 mod 8), the 2007-02..08 order with the table before the pages, the shifted
xen_version tail of a 64-bit toolstack dumping a 32-bit PV guest; and format A, the pre-ELF
dump.  Built with struct only."""

from __future__ import annotations

import struct

from coredump_builders import page


#: A context with nothing but VGCF_online set (flags at offset 512 in both layouts).
ONLINE = bytes(512) + bytes([1 << 5])


def _note(kind, desc):
    return struct.pack("<III", 4, len(desc), kind) + b"Xen\x00" + desc


def xen_version(tools_bits, shifted=False, pagesize=4096):
    head = struct.pack("<QQ", 3, 0) + b".4-1".ljust(16, b"\0") + bytes(64 + 16 + 32 + 32) \
        + b"xen-3.0-x86_32p".ljust(1024, b"\0") + bytes(64)
    if tools_bits == 32:
        return head + struct.pack("<IQ", 0xF5800000, pagesize)           # 1276 bytes
    if shifted:
        return head + struct.pack("<IQI", 0xF5800000, pagesize, 0)       # pagesize at 1268
    return head + struct.pack("<QQ", 0xFFFF800000000000, pagesize)       # 1280 bytes


def build(pfns, *, elf_class=64, machine=62, pv=True, tools_bits=64, stride=5168,
          ctx=ONLINE,
          nr_vcpus=1, table_first=False, shifted=False):
    """A dump holding ``page(pfn)`` for each pfn, in the given layout variant."""
    word = "Q" if elf_class == 64 else "I"
    ehsize, shentsize = (64, 64) if elf_class == 64 else (52, 40)
    names = [".shstrtab", ".note.Xen", ".xen_prstatus", ".xen_shared_info", ".xen_pages",
             ".xen_p2m" if pv else ".xen_pfn"]
    strtab = b"\0" + b"".join(n.encode() + b"\0" for n in names)
    name_at = {n: strtab.index(n.encode() + b"\0") for n in names}
    notes = (_note(0x2000000, b"") +
             _note(0x2000001, struct.pack("<QQQQ", 0xF00FEBED if pv else 0xF00FEBEE, nr_vcpus,
                                          len(pfns), 4096)) +
             _note(0x2000002, xen_version(tools_bits, shifted)) +
             _note(0x2000003, struct.pack("<Q", 1)))
    prstatus = b"".join(ctx.ljust(stride, b"\0") for _ in range(nr_vcpus))
    shared = bytes(4096)
    entries = sorted(pfns)
    table = b"".join(struct.pack("<QQ", p, p) if pv else struct.pack("<Q", p)
                     for p in entries)
    pages = b"".join(page(p) for p in entries)
    at = ehsize + shentsize * (len(names) + 1)
    offsets = {".note.Xen": at}
    at += len(notes)
    offsets[".xen_prstatus"] = at
    at += len(prstatus)
    offsets[".xen_shared_info"] = at
    at += len(shared)
    if table_first:
        offsets[names[5]] = at
        at += len(table)
    pad = -at % 4096
    offsets[".xen_pages"] = at + pad
    at += pad + len(pages)
    if not table_first:
        offsets[names[5]] = at
        at += len(table)
    offsets[".shstrtab"] = at
    sizes = {".shstrtab": len(strtab), ".note.Xen": len(notes), ".xen_prstatus": len(prstatus),
             ".xen_shared_info": 4096, ".xen_pages": len(pages), names[5]: len(table)}
    # sh_addralign is the writer's __alignof__: 4 for i386 ctx (before the 5168 stride) and for
    # i386 shared_info before 2009-01; p2m entries align to 4 on i386, u64 pfns to 8.
    narrow = tools_bits == 32
    info = {".shstrtab": (3, 0, 0), ".note.Xen": (7, 0, 0),
            ".xen_prstatus": (1, 4 if narrow and stride == 2800 else 8, stride),
            ".xen_shared_info": (1, 4 if narrow and stride == 2800 else 8, 4096),
            ".xen_pages": (1, 4096, 4096),
            names[5]: (1, 4 if narrow and pv else 8, 16 if pv else 8)}
    ident = b"\x7fELF" + bytes([1 if elf_class == 32 else 2, 1, 1, 0, 1]) + bytes(7)
    ehdr = ident + struct.pack(f"<HHI{word}{word}{word}IHHHHHH", 4, machine, 1, 0, 0, ehsize,
                               0, ehsize, 56 if elf_class == 64 else 32, 0, shentsize,
                               len(names) + 1, 1)
    shdrs = bytes(shentsize)
    for n in names:
        kind, addralign, entsize = info[n]
        shdrs += struct.pack(f"<II{word}{word}{word}{word}II{word}{word}", name_at[n], kind, 0,
                             0, offsets[n], sizes[n], 0, 0, addralign, entsize)
    out = bytearray(ehdr + shdrs)
    body = {".note.Xen": notes, ".xen_prstatus": prstatus, ".xen_shared_info": shared,
            ".xen_pages": pages, names[5]: table, ".shstrtab": strtab}
    for n in sorted(body, key=offsets.get):
        out += bytes(offsets[n] - len(out)) + body[n]
    return bytes(out)


def format_a(pfn_pages, *, magic=0xF00FEBED, ctx_size=5168, entry=8, vcpus=2, trailer=b"",
             ctxt_offset=24):
    index_offset = 24 + vcpus * ctx_size
    pages_offset = -(-(index_offset + len(pfn_pages) * entry) // 4096) * 4096
    out = struct.pack("<6I", magic, vcpus, len(pfn_pages), ctxt_offset, index_offset,
                      pages_offset)
    out += bytes(vcpus * ctx_size)
    out += b"".join(struct.pack("<Q" if entry == 8 else "<I", 0x9000 + i)
                    for i in range(len(pfn_pages)))
    out += bytes(pages_offset - len(out))
    return out + b"".join(page(p) for p in pfn_pages) + trailer
