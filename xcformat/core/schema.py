"""The Xen domain core dump, declared: the ELF dump-core (format B) and the pre-ELF 2007 format A.

Every structure here is registered
with :func:`xcformat.schema.document`; the readers and writers parse and build only through these
(page data and the big tables excepted: they move as memoryviews, never through construct).
"""

from __future__ import annotations

from construct import Bytes, Const, Int8ul, Int16ul, Int32ul, Int64ul, Struct

from ..schema import document
from ..x86 import VGC_SIZE

FORMAT = "core"

# -- constants -----------------------------------------------------------------
ELF_MAGIC = b"\x7fELF"
ELFCLASS32, ELFCLASS64 = 1, 2
ELFDATA2LSB, ELFDATA2MSB = 1, 2
EV_CURRENT = 1
ET_CORE = 4
EM_386, EM_ARM, EM_IA_64, EM_X86_64 = 3, 40, 50, 62
#: What readelf and the kernel call each e_machine a dump can have.
MACHINE_NAMES = {EM_386: "i386", EM_X86_64: "x86_64", EM_ARM: "arm", EM_IA_64: "ia64"}
KNOWN_MACHINES = frozenset(MACHINE_NAMES)
SHT_PROGBITS, SHT_STRTAB, SHT_NOTE = 1, 3, 7
SHN_XINDEX = 0xFFFF

MAGIC_PV = 0xF00FEBED
MAGIC_HVM = 0xF00FEBEE
MAGICS = (MAGIC_PV, MAGIC_HVM)

NOTE_NAME = b"Xen\x00"
NOTE_NONE = 0x2000000
NOTE_HEADER = 0x2000001
NOTE_XEN_VERSION = 0x2000002
NOTE_FORMAT_VERSION = 0x2000003
NOTE_NAMES = {NOTE_NONE: "DUMPCORE_NONE", NOTE_HEADER: "DUMPCORE_HEADER",
              NOTE_XEN_VERSION: "DUMPCORE_XEN_VERSION",
              NOTE_FORMAT_VERSION: "DUMPCORE_FORMAT_VERSION"}
#: The one format version ever written: major 0 (high 32 bits), minor 1 (low 32 bits).
FORMAT_VERSION = (0 << 32) | 1

#: xcformat's mark in the XEN_VERSION note's changeset of a PV dump made from a save image,
#: whose .xen_p2m maps every pfn to gmfn = pfn (see :mod:`xcformat.core.writer`).
GMFN_IS_PFN = b"xcformat: gmfn = pfn (from a save image)"

#: An all-ones table entry: a padding slot whose page is zero.
INVALID = 0xFFFF_FFFF_FFFF_FFFF

SECTION_SHSTRTAB = ".shstrtab"
SECTION_NOTES = ".note.Xen"
SECTION_PRSTATUS = ".xen_prstatus"
SECTION_SHARED_INFO = ".xen_shared_info"
SECTION_PAGES = ".xen_pages"
SECTION_P2M = ".xen_p2m"
SECTION_PFN = ".xen_pfn"
SECTION_IA64_REGS = ".xen_ia64_mapped_regs"

#: Context sizes of the two x86 layouts; the stride is 5168 for every x86 writer since
#: Xen commit 05bafb26f1 (2009-11), 2800 from older 32-bit toolstacks.
CTX_X86_32 = VGC_SIZE[32]
CTX_X86_64 = VGC_SIZE[64]

_ELF_SOURCE = "e3ce7ff90f:tools/libxc/xc_core.c"
_NOTE_SOURCE = "e3ce7ff90f:tools/libxc/xc_core.h"


def _doc(key, struct, *, title, since, source, doc):
    return document(FORMAT, key, struct, title=title, since=since, source=source, doc=doc)


# -- ELF header -------------------------------------------------------------------------
elf_ident = Struct(
    "magic" / Const(ELF_MAGIC) * "7F 45 4C 46",
    "ei_class" / Int8ul * "2 = ELFCLASS64; 1 only from 32-bit toolstacks 2007-02-24..03-06",
    "ei_data" / Int8ul * "1 = little-endian; no big-endian writer ever existed",
    "ei_version" / Int8ul * "1",
    "ei_osabi" / Int8ul * "0 (SYSV)",
    "ei_abiversion" / Int8ul * "1: libxc stores EV_CURRENT here; readers must not require 0",
    "ei_pad" / Bytes(7) * "zero",
)


def _elf_header(word):
    return Struct(
        "ident" / elf_ident * "e_ident: magic, class, byte order, versions",
        "e_type" / Int16ul * "4 = ET_CORE",
        "e_machine" / Int16ul * "62 EM_X86_64 (64-bit PV, and every HVM guest from 64-bit "
                                "tools), 3 EM_386 (32-bit PV since 2009-01-15), 50 ia64, 40 ARM",
        "e_version" / Int32ul * "1",
        "e_entry" / word * "0",
        "e_phoff" / word * "0: dump-core has no program headers",
        "e_shoff" / word * "offset of the section-header table: right after this header",
        "e_flags" / Int32ul * "0",
        "e_ehsize" / Int16ul * "size of this header (64, or 52 for ELFCLASS32)",
        "e_phentsize" / Int16ul * "56 although there are no program headers (32 for ELFCLASS32)",
        "e_phnum" / Int16ul * "0",
        "e_shentsize" / Int16ul * "size of one section header (64, or 40 for ELFCLASS32)",
        "e_shnum" / Int16ul * "number of sections including the null one: 7, or 6 for an "
                              "HVM dump without .xen_shared_info",
        "e_shstrndx" / Int16ul * "1: .shstrtab is the first real section",
    )


elf64_header = _doc(
    "elf64-header", _elf_header(Int64ul), title="ELF header (ELFCLASS64)", since="Xen 3.0.5",
    source=_ELF_SOURCE,
    doc="Elf64_Ehdr of every dump-core written since Xen commit 0cb97f4d8b (2007-03-07), "
        "whatever the toolstack's width.")

elf32_header = _doc(
    "elf32-header", _elf_header(Int32ul), title="ELF header (ELFCLASS32, 2007 only)",
    since="Xen 3.0.5-pre (e3ce7ff90f)", source=_ELF_SOURCE,
    doc="Elf32_Ehdr written by 32-bit toolstacks for two weeks (2007-02-24 to 2007-03-06), "
        "until 0cb97f4d8b made every dump ELFCLASS64; the notes inside are unchanged.")


def _section_header(word):
    return Struct(
        "sh_name" / Int32ul * "offset of the name in .shstrtab",
        "sh_type" / Int32ul * "7 NOTE for .note.Xen, 3 STRTAB for .shstrtab, 1 PROGBITS else",
        "sh_flags" / word * "0",
        "sh_addr" / word * "0",
        "sh_offset" / word * "file offset of the contents",
        "sh_size" / word * "length of the contents",
        "sh_link" / Int32ul * "0",
        "sh_info" / Int32ul * "0",
        "sh_addralign" / word * "__alignof__ of the in-memory type; honoured in the file only "
                                "by .xen_pages (page size)",
        "sh_entsize" / word * "entry size: 5168 (or 2800) for .xen_prstatus, page size for "
                              ".xen_pages and .xen_shared_info, 16 for .xen_p2m, 8 for .xen_pfn",
    )


section64_header = _doc(
    "section64-header", _section_header(Int64ul), title="Section header (Elf64_Shdr)",
    since="Xen 3.0.5", source=_ELF_SOURCE,
    doc="One per section, in the order null, .shstrtab, .note.Xen, .xen_prstatus, "
        "[.xen_shared_info], .xen_pages, .xen_p2m | .xen_pfn. Header [0] is all zeros.")

section32_header = _doc(
    "section32-header", _section_header(Int32ul), title="Section header (Elf32_Shdr, 2007 only)",
    since="Xen 3.0.5-pre (e3ce7ff90f)", source=_ELF_SOURCE,
    doc="The 40-byte section header of the two-week ELFCLASS32 variant.")

# -- .note.Xen --------------------------------------------------------------------------
note_header = _doc(
    "note-header", Struct(
        "namesz" / Int32ul * "4: the name is always \"Xen\\0\"",
        "descsz" / Int32ul * "length of the descriptor that follows (a multiple of 4: no padding)",
        "type" / Int32ul * "0x2000000 NONE, 0x2000001 HEADER, 0x2000002 XEN_VERSION, "
                           "0x2000003 FORMAT_VERSION",
        "name" / Bytes(4) * "58 65 6E 00 (\"Xen\\0\")",
    ), title=".note.Xen note header", since="Xen 3.0.5",
    source="e3ce7ff90f:xen/include/public/elfnote.h",
    doc="Standard ELF note framing with 4-byte alignment (the section's sh_addralign is 0). "
        "Four notes in fixed order: NONE (descsz 0), HEADER, XEN_VERSION, FORMAT_VERSION.")

header_desc = _doc(
    "header-desc", Struct(
        "xch_magic" / Int64ul * "0xF00FEBED for a PV domain, 0xF00FEBEE for HVM (from the "
                                "domain's HVM flag)",
        "xch_nr_vcpus" / Int64ul * "number of contexts in .xen_prstatus",
        "xch_nr_pages" / Int64ul * "number of pages in .xen_pages and entries in the table",
        "xch_page_size" / Int64ul * "4096 on x86 and ARM, 16384 on ia64",
    ), title="DUMPCORE_HEADER descriptor", since="Xen 3.0.5", source=_NOTE_SOURCE,
    doc="struct xen_dumpcore_elfnote_header_desc, 32 bytes: the xch_* names of format A "
        "carried over into the ELF dump.")

#: The part of the xen_version descriptor before the width-dependent tail.
_xen_version_head = (
    "major_version" / Int64ul * "high 16 bits of XENVER_version",
    "minor_version" / Int64ul * "low 16 bits of XENVER_version",
    "extra_version" / Bytes(16) * "XENVER_extraversion, NUL-padded (e.g. \".0-rc\")",
    "compiler" / Bytes(64) * "compile_info.compiler",
    "compile_by" / Bytes(16) * "compile_info.compile_by",
    "compile_domain" / Bytes(32) * "compile_info.compile_domain",
    "compile_date" / Bytes(32) * "compile_info.compile_date",
    "capabilities" / Bytes(1024) * "XENVER_capabilities, e.g. \"xen-3.0-x86_64 hvm-3.0-x86_32\"",
    "changeset" / Bytes(64) * "XENVER_changeset",
)
XEN_VERSION_HEAD = 1264

xen_version_desc64 = _doc(
    "xen-version-desc-64", Struct(
        *_xen_version_head,
        "virt_start" / Int64ul * "platform_parameters.virt_start as seen by the dumping domain",
        "pagesize" / Int64ul * "XENVER_pagesize (4096 on x86)",
    ), title="DUMPCORE_XEN_VERSION descriptor, 64-bit tools (1280 bytes)", since="Xen 3.0.5",
    source=_NOTE_SOURCE,
    doc="From 64-bit toolstacks for 64-bit PV and every HVM guest (and for every guest before "
        "Xen commit 3967bb3aff, 2009-01-15).")

xen_version_desc_pv32 = _doc(
    "xen-version-desc-pv32", Struct(
        *_xen_version_head,
        "virt_start" / Int32ul * "only the low 4 bytes of virt_start survive",
        "pagesize" / Int64ul * "XENVER_pagesize, moved 4 bytes back to offset 1268",
        "stale" / Bytes(4) * "zero: what is left of the 64-bit layout's pagesize high half",
    ), title="DUMPCORE_XEN_VERSION descriptor, 64-bit tools, 32-bit PV guest (1280 bytes)",
    since="Xen 3.4 (3967bb3aff)", source="3967bb3aff:tools/libxc/xc_core.c",
    doc="Since 2009-01-15 a 64-bit toolstack fills the note at the 32-bit guest's width, so "
        "pagesize moves to 1268 and the u64 at 1272 reads 0.")

xen_version_desc32 = _doc(
    "xen-version-desc-32", Struct(
        *_xen_version_head,
        "virt_start" / Int32ul * "platform_parameters.virt_start (xen_ulong_t of i386)",
        "pagesize" / Int64ul * "XENVER_pagesize; u64 aligned to 4 in the i386 ABI",
    ), title="DUMPCORE_XEN_VERSION descriptor, 32-bit tools (1276 bytes)", since="Xen 3.0.5",
    source=_NOTE_SOURCE,
    doc="From 32-bit (i386 ABI) toolstacks; the note section is then 1380 bytes, not 1384.")

format_version_desc = _doc(
    "format-version-desc", Struct(
        "version" / Int64ul * "major in the high 32 bits (0), minor in the low 32 bits (1); "
                              "never bumped, although the layout changed several times",
    ), title="DUMPCORE_FORMAT_VERSION descriptor", since="Xen 3.0.5", source=_NOTE_SOURCE,
    doc="A minor bump would mean compatible additions, a major bump an incompatible change.")

# -- section contents ---------------------------------------------------------------------------
p2m_entry = _doc(
    "p2m-entry", Struct(
        "pfn" / Int64ul * "guest pseudo-physical frame; all ones marks a zero-filled pad slot",
        "gmfn" / Int64ul * "the machine frame the pfn was backed by; all ones in a pad slot",
    ), title=".xen_p2m entry (PV)", since="Xen 3.0.5", source=_NOTE_SOURCE,
    doc="struct xen_dumpcore_p2m: entry i describes page i of .xen_pages. Valid entries are "
        "strictly ascending by pfn (since 4d42d7146c), pad entries only at the end.")

pfn_entry = _doc(
    "pfn-entry", Struct(
        "pfn" / Int64ul * "guest-physical frame of page i; all ones marks a zero-filled pad slot",
    ), title=".xen_pfn entry (HVM, ia64, ARM)", since="Xen 3.0.5", source=_ELF_SOURCE,
    doc="Auto-translated guests: a bare pfn per page, ascending, pad entries at the end.")

pages_section = _doc(
    "xen-pages", Struct(
        "page" / Bytes(4096) * "one guest page; repeated xch_nr_pages times",
    ), title=".xen_pages", since="Xen 3.0.5", source=_ELF_SOURCE,
    doc="The only aligned section: its offset is a multiple of the page size, so the table "
        "right after it starts page-aligned too. Page i belongs to table entry i.")

prstatus_section = _doc(
    "xen-prstatus", Struct(
        "context" / Bytes(CTX_X86_64) * "one vcpu_guest_context slot (x86 structure reference); "
                                        "repeated xch_nr_vcpus times at stride sh_entsize",
    ), title=".xen_prstatus", since="Xen 3.0.5", source="05bafb26f1:tools/libxc/xc_core.c",
    doc="The vCPU contexts of the vCPUs that answered, packed (index is not the vCPU id). "
        "EM_X86_64: x86_64 layout; EM_386: x86_32 layout at the start of each slot, the rest "
        "zero since fb442e2171. Stride 5168 since 2009-11, the native size (2800 from 32-bit "
        "tools) before.")


shared_info_section = _doc(
    "xen-shared-info", Struct(
        "page" / Bytes(4096) * "the guest's shared_info frame, mapped read-only: x86_32 "
                               "layout for 32-bit PV guests, x86_64 otherwise (x86 structure "
                               "reference, shared_info_32/64)",
    ), title=".xen_shared_info", since="Xen 3.0.5", source=_ELF_SOURCE,
    doc="One page. Always present for PV (a failure to map it aborts the dump); optional for "
        "HVM since 49a55b0fb3.")


# -- format A -------------------------------------------------------------------------------
format_a_header = _doc(
    "format-a-header", Struct(
        "xch_magic" / Int32ul * "0xF00FEBED (PV) or 0xF00FEBEE (HVM, since 457ee10d4c)",
        "xch_nr_vcpus" / Int32ul * "number of contexts (the vCPUs that answered)",
        "xch_nr_pages" / Int32ul * "number of index entries and pages",
        "xch_ctxt_offset" / Int32ul * "always 24",
        "xch_index_offset" / Int32ul * "24 + nr_vcpus * context size (2800 or 5168)",
        "xch_pages_offset" / Int32ul * "round_up(index_offset + nr_pages * entry width, 4096)",
    ), title="Format A header (struct xc_core_header)", since="Xen 3.0 (b61e6cb4e9)",
    source="a38c7c1575:tools/libxc/xenctrl.h",
    doc="The pre-ELF dump (2005 to 2007-02-24): six unsigned ints, then contexts, the MFN "
        "index and the pages. Nothing records the toolstack width: infer it from the offsets.")

format_a_contexts = _doc(
    "format-a-contexts", Struct(
        "context" / Bytes(CTX_X86_64) * "the toolstack's native vcpu_guest_context (5168 or "
                                        "2800 bytes); repeated xch_nr_vcpus times",
    ), title="Format A contexts", since="Xen 3.0", source="a38c7c1575:tools/libxc/xc_core.c",
    doc="At offset 24. The context size is (index_offset - 24) / nr_vcpus.")

format_a_index = _doc(
    "format-a-index", Struct(
        "mfn" / Int64ul * "machine frame of page i, in the domain's page-list order (unsorted); "
                          "u64 since 46c01e0595, the toolstack's unsigned long (4 bytes from "
                          "32-bit tools) before",
    ), title="Format A index entry", since="Xen 3.0", source="46c01e0595:tools/libxc/xc_core.c",
    doc="There are no pfns in format A: finding guest page X needs the guest's own p2m.")


# -- the HVM context a dump made from a save takes its registers from (hvm_cpu.py) ----------

#: The general registers of struct hvm_hw_cpu, in order.
HVM_CPU_GPRS = ("rax", "rbx", "rcx", "rdx", "rbp", "rsi", "rdi", "rsp", "r8", "r9", "r10",
                "r11", "r12", "r13", "r14", "r15")
_HVM_SEGMENTS = ("cs", "ds", "es", "fs", "gs", "ss", "tr", "ldtr")
_HVM_LIMITS = _HVM_SEGMENTS + ("idtr", "gdtr")

hvm_cpu_head = _doc(
    "hvm-hw-cpu-head", Struct(
        "fpu_regs" / Bytes(512) * "FXSAVE image",
        *[name / Int64ul * f"general register {name}" for name in HVM_CPU_GPRS],
        "rip" / Int64ul * "instruction pointer",
        "rflags" / Int64ul * "flags register",
        *[f"cr{n}" / Int64ul * f"control register {n}" for n in (0, 2, 3, 4)],
        *[f"dr{n}" / Int64ul * f"debug register {n}" for n in (0, 1, 2, 3, 6, 7)],
        *[f"{seg}_sel" / Int32ul * f"{seg} selector" for seg in _HVM_SEGMENTS],
        *[f"{seg}_limit" / Int32ul * f"{seg} limit" for seg in _HVM_LIMITS],
        *[f"{seg}_base" / Int64ul * f"{seg} base" for seg in _HVM_LIMITS],
        *[f"{seg}_arbytes" / Int32ul * f"{seg} access rights" for seg in _HVM_SEGMENTS],
        "sysenter_cs" / Int64ul * "SYSENTER_CS MSR",
        "sysenter_esp" / Int64ul * "SYSENTER_ESP MSR",
        "sysenter_eip" / Int64ul * "SYSENTER_EIP MSR",
        "shadow_gs" / Int64ul * "the inactive GS base (MSR_SHADOW_GS_BASE)",
    ), title="HVM CPU save record (struct hvm_hw_cpu), the part a dump uses", since="Xen 3.1",
    source="c447b7308b:xen/include/public/arch-x86/hvm/save.h",
    doc="Payload of typecode 2 in the HVM context blob, up to shadow_gs: the layout every "
        "version shares (the MSR block and pending-event tail after it grew over time).")
