"""Declarative construct schemas of the legacy Xen save stream (Xen 3.0 -> 4.5).

Everything that depends on the widths comes from :func:`structs` (toolstack ``unsigned long``
width W, guest width G, in bits), cached per pair like pyelftools' ``ELFStructs``; the fixed
structures (chunks, tails, qemu records, wrappers) are module constants.  Every structure is
registered with :func:`xcformat.schema.document` citing the Xen commit and file that defines it;
spec/legacy.md is generated from them.  Page data is never
parsed here: a batch header says how many pages follow and the reader moves them in bulk.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from construct import (Array, Bytes, Const, GreedyBytes, Int32sb, Int32sl, Int32ul, Int64ul,
                       Struct, this)

from ..codec import PROBLEM, Valid
from ..schema import document
from ..x86 import VGC_SIZE, shared_info_arch, vcpu_guest_context

#: Xen commits the layouts come from.
XEN_2007 = "a38c7c1575e655ccdee168a265058a41ae13b548"
XEN_450 = "a8ac2290ed95dbbc0dc1bdde86fc3a49fe784b28"
SAVE_450 = f"{XEN_450}:tools/libxc/xc_domain_save.c"
PROTOCOL_450 = f"{XEN_450}:tools/libxc/xg_save_restore.h"

#: Readers reject a batch count above this (the same in every version).
MAX_BATCH = 1024
#: The 4-bit page type sits in bits 28-31 of a batch entry; pfns have 28 bits.
PFN_BITS = 28
MAX_P2M_SIZE = 1 << PFN_BITS
#: Highest vCPU id the -2 chunk can describe (4.2+; 63 before).
MAX_VCPU_ID = 4095
#: -18 payloads larger than this are refused (libxc did a plain realloc of the declared size).
MAX_TOOLSTACK = 1 << 20
#: HVM contexts larger than this are refused.
MAX_HVM_CONTEXT = 16 << 20
#: Per-vCPU xsave records larger than this are not xsave state.
MAX_XSAVE = 256 << 10
#: qemu state is held in memory as one record.
MAX_QEMU = 64 << 20

XL_MAGIC = b"Xen saved domain, xl format\n \0 \r"
XL_BYTEORDER = 0x01020304
#: xl mandatory flag bit 1: the stream that follows is migration v2 (4.6+), not legacy.
XL_FLAG_STREAMV2 = 1 << 1
XEND_MAGIC = b"LinuxGuestRecord"
QEMU_XEND = b"QemuDeviceModelRecord"
QEMU_LIBXL = b"DeviceModelRecord0002"
QEMU_REMUS = b"RemusDeviceModelState"


def _ulong(bits: int):
    return Int64ul if bits == 64 else Int32ul


@dataclass(frozen=True)
class LegacyStructs:
    """The structures whose layout depends on the toolstack width W and guest width G (bits)."""

    toolstack_bits: int
    guest_bits: int
    ulong: Any                  #: a construct integer of W bits
    header: Struct
    ext_info_header: Struct
    p2m_frame_list: Struct
    batch_header: Struct
    unmapped_pfns: Struct
    compressed_data: Struct
    libxl_physmap_entry: Struct
    vcpu_context: Struct
    shared_info: Struct

    @property
    def word(self) -> int:
        return self.toolstack_bits // 8

    @property
    def vcpu_context_size(self) -> int:
        return VGC_SIZE[self.guest_bits]

    def frame_list_entries(self, p2m_size: int) -> int:
        """P2M_FL_ENTRIES: one frame-list entry per guest page of p2m (4096/G entries each)."""
        per_page = 4096 // (self.guest_bits // 8)
        return -(-p2m_size // per_page)


@functools.cache
def structs(toolstack_bits: int, guest_bits: int) -> LegacyStructs:
    """The width-dependent structures for toolstack width W and guest width G (32 or 64)."""
    if toolstack_bits not in (32, 64) or guest_bits not in (32, 64):
        raise ValueError(f"widths must be 32 or 64 bits, not W={toolstack_bits} G={guest_bits}")
    return LegacyStructs(toolstack_bits=toolstack_bits, guest_bits=guest_bits,
                         ulong=_ulong(toolstack_bits), **_word_structs(toolstack_bits),
                         vcpu_context=vcpu_guest_context(guest_bits),
                         shared_info=shared_info_arch(guest_bits))


@functools.cache
def _word_structs(w: int) -> dict:
    """The structures that depend on the toolstack width only (registered once per W)."""
    ulong = _ulong(w)
    ones = (1 << w) - 1
    header = document("legacy", f"header_w{w}", Struct(
        "p2m_size" / ulong * "highest guest pfn + 1 (not the number of pages sent); 2007 PV: "
                             "max_pfn from shared_info, read by xend"),
        title=f"image header (W={w})", since="3.0", source=SAVE_450,
        doc="The stream's first word: a bare unsigned long, no magic and no version.")
    ext_info_header = document("legacy", f"ext_info_header_w{w}", Struct(
        "signature" / Const(ones, ulong) * "all-ones; in older streams this slot is the first "
                                           "p2m frame-list entry instead",
        "tot" / Int32ul * "bytes of blocks that follow: the sum of (8 + size) over the blocks"),
        title=f"PV extended-info header (W={w})", since="3.0.3",
        source=f"{PROTOCOL_450}",
        doc="Right after p2m_size in PV streams: PAE extended-cr3 guests from 3.0.3 "
            "(ad2de84676), every PV guest from 3.2 (120bafda14).  Blocks follow.")
    p2m_frame_list = document("legacy", f"p2m_frame_list_w{w}", Struct(
        "frames" / Array(this._params.entries, ulong)
        * "pfns of the guest pages holding the guest's p2m; ceil(p2m_size / (4096/G)) entries, "
          "each W wide whatever G is"),
        title=f"PV p2m frame list (W={w})", since="3.0", source=SAVE_450,
        doc="Parse with entries=P2M_FL_ENTRIES.  Each entry must be < p2m_size and name a page "
            "sent as NOTAB.")
    batch_header = document("legacy", f"batch_header_w{w}", Struct(
        "count" / Int32sl * "entries, 1..1024 (a negative value is a chunk id, 0 ends the body)",
        "entries" / Array(this.count, ulong)
        * "(type << 28) | pfn; with W=64 the upper 32 bits must be 0; the data pages of the "
          "entries whose type is not 0xD/0xE/0xF follow, 4096 bytes each, in entry order"),
        title=f"page batch header (W={w})", since="3.0", source=SAVE_450,
        doc="Type nibbles: 0 NOTAB, 1-4 L1-L4TAB, 9-C pinned L1-L4, D BROKEN (4.3), E XALLOC "
            "(4.2), F XTAB (pfn bits are junk: MFN bits before 4.0/4.1).  The 2007 HVM layout "
            "has bare pfns, all with data.")
    unmapped_pfns = document("legacy", f"unmapped_pfns_w{w}", Struct(
        "count" / Int32ul * "pfns not in the p2m when the save ended (ballooned out)",
        "pfns" / Array(this.count, ulong) * "those pfns, each < p2m_size"),
        title=f"PV tail: unmapped pfns (W={w})", since="3.0", source=SAVE_450,
        doc="First item of the PV tail, after the body's terminating 0.")
    compressed_data = document("legacy", f"chunk_compressed_data_w{w}", Struct(
        "length" / ulong * "bytes of delta-compressed page data",
        "data" / Bytes(this.length) * "per-page encodings that need the receiver's page cache"),
        title=f"chunk -12 COMPRESSED_DATA payload (W={w})", since="4.2",
        source=f"{XEN_450}:tools/libxc/xc_compression.c",
        doc="Remus compression: cannot be decoded offline; files carrying it are "
            "rejected.")
    libxl_physmap_entry = document("legacy", f"libxl_physmap_entry_w{w}", Struct(
        "phys_offset" / Int64ul * "guest physical offset of the mapping",
        "start_addr" / Int64ul * "start address in the device model",
        "size" / Int64ul * "bytes mapped",
        "namelen" / Int32ul * "bytes of name, NUL included",
        "name" / Bytes(this.namelen) * "NUL-terminated name (the xenstore key)",
        *(["tail_padding" / Bytes(4) * "struct tail padding a 64-bit libxl writes after every "
                                       "entry (sizeof is 32, not 28)"] if w == 64 else [])),
        title=f"libxl toolstack record v1: physmap entry (W={w})", since="4.2",
        source=f"{XEN_450}:tools/libxl/libxl_dom.c",
        doc="One entry of the -18 payload written by libxl.")
    return dict(header=header, ext_info_header=ext_info_header, p2m_frame_list=p2m_frame_list,
                batch_header=batch_header, unmapped_pfns=unmapped_pfns,
                compressed_data=compressed_data, libxl_physmap_entry=libxl_physmap_entry)


# -- extended-info blocks -------------------------------------------------------------

EXT_BLOCK = document("legacy", "ext_block", Struct(
    "id" / Bytes(4) * "ASCII block id: vcpu, extv or xcnt",
    "size" / Int32ul * "payload bytes",
    "payload" / Bytes(this.size) * "the block's content"),
    title="PV extended-info block", since="3.0.3", source=PROTOCOL_450,
    doc="Blocks follow the ext-info header back to back; 4.5 writes vcpu, extv, [xcnt] in "
        "this order.  libxc skips unknown ids by size; the Xen converter rejects them.")

EXT_BLOCK_VCPU = document("legacy", "ext_block_vcpu", Struct(
    "id" / Const(b"vcpu") * "block id",
    "size" / Int32ul * "2800 (a 32-bit PAE guest) or 5168 (a 64-bit guest): the guest width",
    "context" / Bytes(this.size) * "vcpu 0's vcpu_guest_context, raw (not canonicalised)"),
    title='ext-info block "vcpu"', since="3.0.3", source=PROTOCOL_450,
    doc="Tells the guest width by its size; readers use the content only for vm_assist bit 3. "
        "3.0.3/3.0.4 wrote it only for PAE guests with extended-cr3 (ad2de84676).")
EXT_BLOCK_EXTV = document("legacy", "ext_block_extv", Struct(
    "id" / Const(b"extv") * "block id",
    "size" / Const(0, Int32ul) * "0: the block is a flag"),
    title='ext-info block "extv"', since="3.2", source=PROTOCOL_450,
    doc="Every tail vCPU record carries 128 bytes of extended context (3d98e9d1ce).")
#: The "xcnt" block's payload, as the reader and writer handle it (after the block head).
XCNT_PAYLOAD = Struct(
    "xsave_record_size" / Int32ul * "bytes of each vCPU's xsave record in the tail: 16 + the "
                                    "size Xen reports for vcpu 0")
EXT_BLOCK_XCNT = document("legacy", "ext_block_xcnt", Struct(
    "id" / Const(b"xcnt") * "block id",
    "size" / Const(4, Int32ul) * "4 (libxc reads 4 bytes whatever the size says)",
    *XCNT_PAYLOAD.subcons),
    title='ext-info block "xcnt"', since="4.1", source=PROTOCOL_450,
    doc="Present when the host supports XSAVE (d0cf814150).  Since 4.4 (4cc1344447) each "
        "vCPU's own size may differ from this value.")

# -- chunks ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChunkSpec:
    """One XC_SAVE_ID_* chunk: its name, payload layout (after the i32 id) and provenance."""

    id: int
    name: str
    since: str
    commit: str
    payload: Struct | None      #: fixed or self-delimiting layout; None when variable (parsed
    #                              by the reader step by step: tmem, -12)
    hvm_only: bool = False
    hvm_param: int | None = None   #: HVM_PARAM_* index of a value chunk


#: The i32 that starts every body item: a batch count (> 0), a chunk id (< 0) or the end (0).
BODY_ITEM = Int32sl

_PAD = "pad" / Valid(Int32ul, lambda v, _: v == 0, "pad is {value:#x}, not 0", PROBLEM) * (
    "always written as 0 (libxc drops it unread)")
VALUE_PAYLOAD = Struct(_PAD, "value" / Int64ul * "the value (an HVM parameter)")
ACPI_IOPORTS_PAYLOAD = Struct(_PAD, "value" / Valid(
    Int64ul, lambda v, _: v in (0, 1), "value {value} (only 0 and 1 exist)", PROBLEM)
    * "HVM_PARAM_ACPI_IOPORTS_LOCATION: 0 or 1, the version of the ACPI PM I/O port layout")


def _online_bits(words) -> int:
    return sum(word << (64 * i) for i, word in enumerate(words))


VCPU_INFO_PAYLOAD = Struct(
    "max_vcpu_id" / Valid(Int32sl, lambda v, _: 0 <= v <= MAX_VCPU_ID,
                          f"max_vcpu_id {{value}} out of range 0..{MAX_VCPU_ID}")
    * "highest vCPU id; < 64 until 4.1, < 4096 from 4.2",
    "online" / Valid(Valid(
        Array(this.max_vcpu_id // 64 + 1, Int64ul),
        lambda v, _: _online_bits(v) & 1, "vCPU 0 is not marked online", PROBLEM),
        lambda v, this: not _online_bits(v) >> (this.max_vcpu_id + 1),
        "online bits above max_vcpu_id {this.max_vcpu_id}", PROBLEM)
    * "bitmap of online vCPUs, bit i = vCPU i; bit 0 always set; no bits above max_vcpu_id")

TSC_INFO_PAYLOAD = Struct(
    "tsc_mode" / Valid(Int32ul, lambda v, _: v <= 3, "tsc_mode {value} (0..3 exist)", PROBLEM)
    * "0 default, 1 always emulate, 2 never emulate, 3 pvrdtscp",
    "nsec" / Int64ul * "elapsed nanoseconds (packed right after tsc_mode: no padding)",
    "khz" / Int32ul * "guest TSC frequency",
    "incarnation" / Int32ul * "TSC incarnation")

TOOLSTACK_PAYLOAD = Struct(
    "length" / Valid(Int32ul, lambda v, _: v <= MAX_TOOLSTACK,
                     f"toolstack data of {{value}} bytes (limit {MAX_TOOLSTACK})")
    * "bytes of toolstack data (bounded at 1 MiB by xcformat)",
    "data" / Bytes(this.length) * "opaque to libxc; libxl writes its physmap record v1")

_EMPTY = Struct()


def _value(id_, name, since, commit, param, payload=VALUE_PAYLOAD) -> ChunkSpec:
    return ChunkSpec(id_, name, since, commit, payload, hvm_only=True, hvm_param=param)


#: Every chunk id a legacy stream can hold: chunks have no length, so an unknown id is fatal.
CHUNKS: dict[int, ChunkSpec] = {c.id: c for c in (
    ChunkSpec(-1, "ENABLE_VERIFY_MODE", "3.0", "a38c7c1575", _EMPTY),
    ChunkSpec(-2, "VCPU_INFO", "3.1", "06cffd6c17", VCPU_INFO_PAYLOAD),
    _value(-3, "HVM_IDENT_PT", "3.3", "a1d529a86b", 12),
    _value(-4, "HVM_VM86_TSS", "3.4", "8d4638d15e", 15),
    ChunkSpec(-5, "TMEM", "4.0", "734a7f6677", None),
    ChunkSpec(-6, "TMEM_EXTRA", "4.0", "734a7f6677", None),
    ChunkSpec(-7, "TSC_INFO", "4.0", "08a0b4ab0d", TSC_INFO_PAYLOAD),
    _value(-8, "HVM_CONSOLE_PFN", "4.1", "c4ebe46529", 17),
    ChunkSpec(-9, "LAST_CHECKPOINT", "4.1", "00a4b65f85", _EMPTY),
    _value(-10, "HVM_ACPI_IOPORTS_LOCATION", "4.1", "a6aa655723", 19, ACPI_IOPORTS_PAYLOAD),
    _value(-11, "HVM_VIRIDIAN", "4.2", "26ddefddf0", 9),
    ChunkSpec(-12, "COMPRESSED_DATA", "4.2", "f6b3d39f5d", None),
    ChunkSpec(-13, "ENABLE_COMPRESSION", "4.2", "f6b3d39f5d", _EMPTY),
    _value(-14, "HVM_GENERATION_ID_ADDR", "4.2", "8f76fc6c98", 34),
    _value(-15, "HVM_PAGING_RING_PFN", "4.2", "770d1e858d", 27),
    _value(-16, "HVM_ACCESS_RING_PFN", "4.2", "770d1e858d", 28),
    _value(-17, "HVM_SHARING_RING_PFN", "4.2", "770d1e858d", 29),
    ChunkSpec(-18, "TOOLSTACK", "4.2", "960371fa2c", TOOLSTACK_PAYLOAD),
    _value(-19, "HVM_IOREQ_SERVER_PFN", "4.5", "434ae6517a", 32),
    _value(-20, "HVM_NR_IOREQ_SERVER_PAGES", "4.5", "434ae6517a", 33),
)}
#: HVM_PARAM_* index -> value chunk id.
CHUNK_OF_PARAM = {c.hvm_param: c.id for c in CHUNKS.values() if c.hvm_param is not None}

_CHUNK_DOCS = {
    -1: "Debug flag: a complete second copy of every page follows, for the receiver to compare.",
    -2: "Online vCPUs: chunk size 8 + 8*(max_vcpu_id/64 + 1).  Without it readers assume vCPU "
        "0 only (pre-3.1 streams).",
    -7: "TSC mode and frequency, packed (24 bytes with the id); v2 reorders the fields.",
    -9: "This save is not checkpointed (Remus streams never carry it): the tail is the end.",
    -13: "Remus compression on: later batches carry entries only and pages come in -12.",
    -18: "Toolstack data; libxl always writes it (PV guests get the 8-byte {1, 0}).",
}
for _chunk in CHUNKS.values():
    if _chunk.payload is not None:
        document("legacy", f"chunk_{-_chunk.id}", Struct(
            "id" / Const(_chunk.id, Int32sl) * f"XC_SAVE_ID_{_chunk.name}",
            *_chunk.payload.subcons),
            title=f"chunk {_chunk.id} {_chunk.name}", since=_chunk.since,
            source=f"{_chunk.commit}:tools/libxc/xc_domain_save.c",
            doc=_CHUNK_DOCS.get(_chunk.id, (
                f"HVM parameter {_chunk.hvm_param}, written only when non-zero (HVM only)."
                if _chunk.hvm_param is not None else "")))

# tmem (-5/-6): variable, with no length field; the reader walks these pieces.
TMEM_HEADER = document("legacy", "tmem_header", Struct(
    "version" / Int32ul * "tmem save version",
    "max_pools" / Int32ul * "pools per client",
    "marker" / Const(0xFFFFFFFF, Int32ul) * "-1",
    "client_flags" / Int32ul * "client flags (compression, ...)",
    "weight" / Int32ul * "client weight",
    "cap" / Int32ul * "client cap",
    "client_marker" / Const(0xFFFFFFFF, Int32ul) * "-1"),
    title="chunk -5 TMEM: header", since="4.0", source=f"{XEN_450}:tools/libxc/xc_tmem.c",
    doc="Pools follow, each a tmem_pool and up to n_pages tmem_page items; a pool_id of "
        "0xFFFFFFFF ends the list.")
TMEM_POOL = document("legacy", "tmem_pool", Struct(
    "pool_id" / Int32ul * "pool id (0xFFFFFFFF ends the pool list and nothing else follows)",
    "pool_flags" / Int32ul * "bits 4-7: log2(page size) - 12; bit 0 persistent",
    "n_pages" / Int32ul * "pages saved (0 for non-persistent pools)",
    "uuid" / Array(2, Int64ul) * "pool uuid"),
    title="chunk -5 TMEM: pool", since="4.0", source=f"{XEN_450}:tools/libxc/xc_tmem.c")
TMEM_PAGE = document("legacy", "tmem_page", Struct(
    "oid" / Array(3, Int64ul) * "object id; all-ones ends the pool's list early (no index, "
                                "no data follow)",
    "index" / Int32ul * "page index within the object",
    "data" / Bytes(this._params.page_size) * "page contents (1 << (pool page shift + 12))"),
    title="chunk -5 TMEM: page", since="4.0", source=f"{XEN_450}:tools/libxc/xc_tmem.c")
TMEM_EXTRA_ENTRY = document("legacy", "tmem_extra_entry", Struct(
    "pool_id" / Int32ul * "pool id; 0xFFFFFFFF ends the chunk (nothing else follows)",
    "oid" / Array(3, Int64ul) * "object id",
    "index" / Int32ul * "page index"),
    title="chunk -6 TMEM_EXTRA: entry", since="4.0", source=f"{XEN_450}:tools/libxc/xc_tmem.c",
    doc="32 bytes each; pages flushed during the live iterations.")

LIBXL_TOOLSTACK_V1 = document("legacy", "libxl_toolstack_v1", Struct(
    "version" / Int32ul * "must be 1",
    "count" / Int32ul * "physmap entries that follow (libxl_physmap_entry_w32/_w64)"),
    title="libxl toolstack record v1 header", since="4.2",
    source=f"{XEN_450}:tools/libxl/libxl_dom.c",
    doc="The -18 payload libxl writes: its physmap (qemu's VRAM and ROM mappings).")

# -- tails -----------------------------------------------------------------

XSAVE_RECORD = document("legacy", "pv_tail_xsave", Struct(
    "xfeature_mask" / Valid(Int64ul, lambda v, _: v != 0, "xsave mask 0 although xcnt is present")
    * "the host's xfeature_mask (non-zero whenever xcnt exists)",
    "size" / Valid(Int64ul, lambda v, _: v <= MAX_XSAVE,
                   f"xsave size {{value}} (limit {MAX_XSAVE})")
    * "bytes that follow: should equal xcnt - 16; since 4.4 per vCPU",
    "data" / Bytes(this.size) * "u64 xcr0, u64 xcr0_accum, XSAVE area"),
    title="PV tail: vCPU xsave record", since="4.1", source=SAVE_450,
    doc="After each vCPU's context and 128-byte extended context when xcnt is present.")

#: The HVM tail's magic pfns in stream order, and the HVM_PARAM_* index each one is.
MAGIC_PFNS = {"ioreq_pfn": 5, "bufioreq_pfn": 6, "store_pfn": 1}
HVM_MAGIC_PFNS = Struct(*(name / Int64ul * f"HVM_PARAM_{name[:-4].upper()}_PFN ({param})"
                          for name, param in MAGIC_PFNS.items()))
HVM_CONTEXT = Struct(
    "context_length" / Valid(Int32ul, lambda v, _: 0 < v <= MAX_HVM_CONTEXT,
                             f"HVM context length {{value}} (1..{MAX_HVM_CONTEXT})")
    * "bytes of HVM context (0 < length <= 16 MiB)",
    "context" / Bytes(this.context_length)
    * "XEN_DOMCTL_gethvmcontext blob: HEADER ... END records (x86/hvm_save_descriptor)")

HVM_TAIL = document("legacy", "hvm_tail", Struct(*HVM_MAGIC_PFNS.subcons, *HVM_CONTEXT.subcons),
    title="HVM tail (3.1 to 4.5)", since="3.1", source=SAVE_450,
    doc="After the body's terminating 0; the vCPU state is inside the context (833623e78a).")

HVM_2007_VCPUS = Struct(
    "nr_vcpus" / Valid(Int32ul, lambda v, _: v <= MAX_VCPU_ID + 1, "{value} vCPUs")
    * "online vCPUs that follow")
HVM_2007_TAIL = document("legacy", "hvm_2007_tail", Struct(
    *HVM_CONTEXT.subcons, *HVM_2007_VCPUS.subcons),
    title="HVM tail, 2007 development format", since="unreleased (2007-01 to 2007-04)",
    source=f"{XEN_2007}:tools/libxc/xc_hvm_save.c",
    doc="Only xen-unstable between 4a13cf1b70 and d11bec8a19 wrote it; no release reads it "
        "(its saver's context buffer was 8192 bytes).  "
        "nr_vcpus hvm_2007_vcpu records and hvm_2007_shared_info follow.")
HVM_2007_VCPU = document("legacy", "hvm_2007_vcpu", Struct(
    "size" / Int32ul * "must equal the native context size (2800 or 5168)",
    "context" / Bytes(this.size) * "vcpu_guest_context of the toolstack's width"),
    title="HVM 2007 tail: vCPU", since="unreleased (2007-01)",
    source=f"{XEN_2007}:tools/libxc/xc_hvm_save.c")
HVM_2007_SHARED_INFO = document("legacy", "hvm_2007_shared_info", Struct(
    "frame" / Int32ul * "shared-info frame number (low 32 bits of an unsigned long)"),
    title="HVM 2007 tail: shared-info frame", since="unreleased (2007-01)",
    source=f"{XEN_2007}:tools/libxc/xc_hvm_save.c")

PV_2007_EXT_INFO = document("legacy", "pv_2007_ext_info", Struct(
    "tot" / Int32ul * "VGC_W + 8: the one vcpu block",
    "id" / Const(b"vcpu") * "block id",
    "size" / Int32ul * "VGC_W: the native context size (guest width = toolstack width)",
    "context" / Bytes(this.size) * "vcpu 0's context"),
    title="PV ext-info in 3.0.3/3.0.4 (after the all-ones signature)", since="3.0.3",
    source=f"{XEN_2007}:tools/libxc/xc_linux_save.c",
    doc="Written only for PAE hypervisors with a guest that set vm_assist pae_extended_cr3; "
        "otherwise the frame list follows max_pfn directly (3.0.0-3.0.4).  The 2007 "
        "tail is: u32 nu, ulong pfn[nu], vcpu 0's context (no 128-byte extension), the "
        "shared-info page.")

# -- device-model (qemu) records -------------------------------------------------------

QEMU_LENGTH = "length" / Valid(Int32ul, lambda v, _: v <= MAX_QEMU,
                               f"qemu record of {{value}} bytes (limit {MAX_QEMU})") * (
    "bytes of qemu state")
QEMU_RECORDS = {
    QEMU_LIBXL: document("legacy", "qemu_libxl", Struct(
        "signature" / Const(QEMU_LIBXL) * "21 bytes, no NUL",
        QEMU_LENGTH, "data" / Bytes(this.length) * "qemu state"),
        title="qemu record: libxl DeviceModelRecord0002", since="4.1",
        source="2526ff6cc98fc971041442e63bfe43bdc8bed9d2:tools/libxc/xg_save_restore.h",
        doc="Written by libxl after the HVM tail (4.1 to 4.5)."),
    QEMU_REMUS: document("legacy", "qemu_remus", Struct(
        "signature" / Const(QEMU_REMUS) * "21 bytes, no NUL",
        QEMU_LENGTH, "data" / Bytes(this.length) * "qemu state"),
        title="qemu record: xend Remus RemusDeviceModelState", since="4.0",
        source="ad91d3c17ba53254d2bc33496aa272d592b27f75:tools/libxc/xc_domain_restore.c",
        doc="Each checkpoint of an xend Remus HVM stream ends with one."),
    QEMU_XEND: document("legacy", "qemu_xend", Struct(
        "signature" / Const(QEMU_XEND) * "21 bytes, no NUL",
        "data" / GreedyBytes * "qemu state up to the end of the file (4.x libxc requires it "
                               "to start with QEVM)"),
        title="qemu record: xend QemuDeviceModelRecord", since="3.0",
        source=f"{XEN_2007}:tools/python/xen/xend/XendCheckpoint.py",
        doc="No length: the state runs to EOF, so nothing can follow it."),
}

# -- file wrappers -----------------------------------------------------------------------

#: The xl save-file header, one declaration for both streams it wraps (tools/xl/xl.h): the
#: legacy stream (4.1-4.5, STREAMv2 clear) and migration v2 (4.6+, STREAMv2 set).
_XL_MANDATORY = ("bit 0 config is JSON (4.5), bit 1 STREAMv2 (a libxl v2 stream follows; clear: a "
                 "legacy stream follows); unknown bits: refuse")
XL_HEADER = document("legacy", "xl_header", Struct(
    "magic" / Const(XL_MAGIC) * "\"Xen saved domain, xl format\\n \\0 \\r\" (32 bytes)",
    "byteorder" / Int32ul * "0x01020304 in the saver's byte order (04 03 02 01 on x86)",
    "mandatory_flags" / Int32ul * _XL_MANDATORY,
    "optional_flags" / Int32ul * "none defined; unknown bits: refuse",
    "optional_data_len" / Int32ul * "bytes of optional data that follow: u32 config length, "
                                    "config; xl ignores anything after the config"),
    title="xl save-file header", since="4.1", source=f"{XEN_450}:tools/libxl/xl_cmdimpl.c",
    doc="xl's own header in front of the libxc stream; optional data (xl_config) follows.")
XL_CONFIG = document("legacy", "xl_config", Struct(
    "config_length" / Int32ul * "bytes of domain configuration",
    "config" / Bytes(this.config_length) * "the domain configuration (xl text or JSON)",
    "rest" / GreedyBytes * "any further optional data (none is defined)"),
    title="xl optional data", since="4.1", source=f"{XEN_450}:tools/libxl/xl_cmdimpl.c")
XEND_HEADER = document("legacy", "xend_header", Struct(
    "magic" / Const(XEND_MAGIC) * '"LinuxGuestRecord"',
    "config_length" / Int32sb * "BIG-endian length of the configuration (the only big-endian "
                                "field of the format)",
    "config" / Bytes(this.config_length) * "the domain configuration as an S-expression"),
    title="xend save-file header", since="3.0",
    source=f"{XEN_2007}:tools/python/xen/xend/XendCheckpoint.py",
    doc="xend (3.0 to 4.4) save files and migration; HVM guests end with a "
        "QemuDeviceModelRecord.")

# Register both toolstack widths now, so the reference does not depend on which a run happened to
# use.
for _bits in (32, 64):
    _word_structs(_bits)
