"""Declarative schemas of the migration stream v2/v3 (libxc), the libxl v2 layer and the xl header.

Every structure is documented here and registered with :func:`xcformat.schema.document`; the
reader and writer use these structures for headers and fixed-size bodies, and read page payloads
and pfn arrays as bulk memoryviews instead.  Layouts: Xen's ``docs/specs/libxc-migration-stream.pandoc`` (facts checked against
xen-project/xen ``c447b7308b``).
"""

from __future__ import annotations

import enum

from construct import Bytes, Const, GreedyBytes, Int16ub, Int16ul, Int32ub, Int32ul, Int64ul, \
    Int8ul, Struct

# The xl header and its constants are legacy's declaration (one header wraps both streams).
from ..legacy.schema import (XL_BYTEORDER, XL_CONFIG, XL_FLAG_STREAMV2, XL_HEADER,  # noqa: F401
                              XL_MAGIC)
from ..schema import document

XEN = "c447b7308b1330ec6dcfef37220736c28f41daa0"
LIBXC_H = f"{XEN}:tools/libs/guest/xg_sr_stream_format.h"
LIBXL_H = f"{XEN}:tools/libs/light/libxl_sr_stream_format.h"
XL_H = f"{XEN}:tools/xl/xl.h"


def _doc(key, struct, title, since, source=LIBXC_H, doc=""):
    return document("v2", key, struct, title=title, since=since, source=source, doc=doc)


# -- libxc layer ---------------------------------------------------------------------------------

IHDR_MARKER = b"\xff" * 8
IHDR_ID = 0x58454E46          # "XENF"
#: The stream versions: 2 (Xen 4.6-4.13) and 3 (Xen 4.14+), image header ``version``.
VERSIONS = (2, 3)
#: What ``--wrap`` names: the bare libxc stream, a libxl layer around it, an xl header around that.
WRAPS = ("libxc", "libxl", "xl")
IHDR_SIZE = 24
DHDR_SIZE = 16
RHDR_SIZE = 8
#: Every record is zero-padded to a multiple of this (libxc-migration-stream.pandoc).
REC_ALIGN = 8
#: The largest record body the C restorer accepts since Xen 4.10 (8 MiB before).
REC_LENGTH_MAX = 128 << 20
#: Bits of a PAGE_DATA pfn entry (libxc-migration-stream.pandoc).
PFN_MASK = 0x000F_FFFF_FFFF_FFFF
PFN_RESERVED_MASK = 0x0FF0_0000_0000_0000
TYPE_SHIFT = 60
#: The Xen saver's batch limit (MAX_BATCH_SIZE); the restorer caps only through REC_LENGTH_MAX.
MAX_BATCH = 1024
#: Optional records (bit 31) are skipped by restorers that do not know them.
OPTIONAL_BIT = 0x8000_0000

image_header = _doc("image-header", Struct(
    "marker" / Const(IHDR_MARKER) * "eight 0xFF bytes: never the start of a legacy stream, whose "
                                     "first word is a small p2m_size",
    "id" / Const(IHDR_ID, Int32ub) * "0x58454E46, ASCII \"XENF\"",
    "version" / Int32ub * "2 (Xen 4.6-4.13) or 3 (Xen 4.14+, adds STATIC_DATA_END and policies)",
    "options" / Int16ub * "bit 0: byte order of everything after this header (0 little endian; "
                          "the C restorer refuses 1); bits 1-15 reserved, 0",
    "reserved1" / Int16ub * "reserved, 0",
    "reserved2" / Int32ub * "reserved, 0",
), "Image header (big-endian)", "4.6", doc=(
    "The only big-endian structure of the stream; it may grow only by appending fields."))

domain_header = _doc("domain-header", Struct(
    "type" / Int32ul * "1 x86 PV, 2 x86 HVM (PVH is saved as HVM); 3 and 4 were drafts, removed "
                       "in 4.14",
    "page_shift" / Int16ul * "log2 of the page size: always 12",
    "reserved" / Int16ul * "reserved, 0",
    "xen_major" / Int32ul * "Xen major version of the saver; 0 means written by a converter",
    "xen_minor" / Int32ul * "Xen minor version; the converter's own version when xen_major is 0",
), "Domain header", "4.6")

record_header = _doc("record-header", Struct(
    "type" / Int32ul * "record type; bit 31 set marks an optional record a restorer may skip",
    "length" / Int32ul * "body length in bytes, not counting the 0-7 zero bytes of padding that "
                         "bring the record to a multiple of 8",
), "Record header", "4.6", doc=(
    "Followed by ``length`` body bytes, then zero padding to the next multiple of 8.  The C "
    "restorer refuses bodies over 128 MiB (REC_LENGTH_MAX; 8 MiB before Xen 4.10).  Four "
    "records have no body at all: END (0x00) ends the stream; VERIFY (0x0D) announces a second "
    "copy of memory to compare; CHECKPOINT (0x0E) ends one Remus/COLO snapshot; STATIC_DATA_END "
    "(0x10, v3 only, Xen 4.14) ends the state that does not depend on guest execution."))

page_data_header = _doc("page-data", Struct(
    "count" / Int32ul * "number of pfn entries, at least 1; the Xen saver writes at most 1024",
    "reserved" / Int32ul * "reserved, 0",
    "entries" / GreedyBytes * "u64 entry[count]: page type in bits 63-60 (XEN_DOMCTL_PFINFO_* "
                       ">> 28), bits 59-52 reserved 0, pfn in bits 51-0; then 4096 bytes per "
                       "entry whose type carries data (0-4, 9-C), in entry order, no gap",
), "PAGE_DATA (0x01) body", "4.6", doc=(
    "Types 5-8 are invalid; D (BROKEN), E (XALLOC) and F (XTAB: not present) carry no data.  "
    "The same pfn may appear again later (live migration re-sends pages; the last copy wins)."))

x86_pv_info = _doc("x86-pv-info", Struct(
    "guest_width" / Int8ul * "bytes per guest word: 8 (x86_64) or 4 (x86_32 PAE)",
    "pt_levels" / Int8ul * "paging levels: 4 with width 8, 3 with width 4",
    "reserved1" / Int16ul * "reserved, 0",
    "reserved2" / Int32ul * "reserved, 0",
), "X86_PV_INFO (0x02) body", "4.6", doc="PV only; must come before P2M_FRAMES and PAGE_DATA.")

x86_pv_p2m_frames = _doc("x86-pv-p2m-frames", Struct(
    "start_pfn" / Int32ul * "first pfn the frame list covers (the saver writes 0)",
    "end_pfn" / Int32ul * "last pfn covered, inclusive: the guest's max pfn",
    "p2m_pfns" / GreedyBytes * "u64 pfn of each guest page holding a slice of the guest's p2m; "
                               "end/fpp + 1 - start/fpp entries, fpp = 4096 / guest_width",
), "X86_PV_P2M_FRAMES (0x03) body", "4.6")

vcpu_header = _doc("x86-pv-vcpu", Struct(
    "vcpu_id" / Int32ul * "the vCPU this state belongs to",
    "reserved" / Int32ul * "reserved, 0",
    "context" / GreedyBytes * "BASIC: vcpu_guest_context, 5168 bytes (64-bit) or 2800 (32-bit); "
                              "EXTENDED: at most 128 bytes; XSAVE: u64 xcr0, u64 xcr0_accum, "
                              "XSAVE area (at least 16 bytes); MSRS: {u32 index, u32 reserved, "
                              "u64 value} entries",
), "X86_PV_VCPU_BASIC / EXTENDED / XSAVE / MSRS (0x04-0x06, 0x0C) body", "4.6", doc=(
    "Xen 4.6-4.8 could write EXTENDED, XSAVE and MSRS with the 8-byte header only (errata); "
    "readers accept and ignore those."))

shared_info = _doc("shared-info", Struct(
    "page" / Bytes(4096) * "the guest's shared-info page, guest layout",
), "SHARED_INFO (0x07) body", "4.6", doc="PV only; exactly 4096 bytes.")

tsc_info = _doc("x86-tsc-info", Struct(
    "mode" / Int32ul * "TSC mode: 0 default, 1 always emulate, 2 never emulate, 3 pvrdtscp",
    "khz" / Int32ul * "guest TSC frequency in kHz",
    "nsec" / Int64ul * "elapsed nanoseconds",
    "incarnation" / Int32ul * "number of migrations so far",
    "reserved" / Int32ul * "reserved, 0",
), "X86_TSC_INFO (0x08) body", "4.6", doc=(
    "Called TSC_INFO before 4.14.  The legacy chunk -7 has the fields in another order "
    "(mode, nsec, khz, incarnation) and no padding."))

hvm_context = _doc("hvm-context", Struct(
    "blob" / GreedyBytes * "the hypervisor's save records (XEN_DOMCTL_gethvmcontext): "
                           "{u16 typecode, u16 instance, u32 length, payload} from HEADER to END",
), "HVM_CONTEXT (0x09) body", "4.6", doc="HVM only; non-empty; applied at the end of the stream.")

hvm_params_header = _doc("hvm-params", Struct(
    "count" / Int32ul * "number of {u64 index, u64 value} pairs that follow",
    "reserved" / Int32ul * "reserved, 0",
    "params" / GreedyBytes * "count pairs of u64 HVM_PARAM_* index and u64 value",
), "HVM_PARAMS (0x0A) body", "4.6", doc=(
    "HVM only; applied as soon as it is read.  The saver sends only non-zero parameters and "
    "leaves the record out when there are none (4.6-4.8 could write count 0: errata)."))

opaque_body = _doc("opaque", Struct(
    "data" / GreedyBytes * "uninterpreted bytes",
), "TOOLSTACK (0x0B) body", "4.6", doc=(
    "Deprecated: existed only while v2 was developed.  Carries the libxl toolstack blob."))

dirty_pfn_list = _doc("checkpoint-dirty-pfn-list", Struct(
    "pfns" / GreedyBytes * "u64 pfn[length / 8]",
), "CHECKPOINT_DIRTY_PFN_LIST (0x0F) body", "4.7", doc=(
    "COLO back channel only (secondary to primary); never part of a saved image."))

cpuid_leaf = _doc("x86-cpuid-policy", Struct(
    "leaf" / Int32ul * "CPUID leaf",
    "subleaf" / Int32ul * "CPUID subleaf",
    "a" / Int32ul * "EAX",
    "b" / Int32ul * "EBX",
    "c" / Int32ul * "ECX",
    "d" / Int32ul * "EDX",
), "X86_CPUID_POLICY (0x11) entry", "4.14", doc=(
    "v3 static data; the body is a non-empty array of these 24-byte entries."))

msr_entry = _doc("x86-msr-policy", Struct(
    "idx" / Int32ul * "MSR index",
    "flags" / Int32ul * "reserved, 0",
    "val" / Int64ul * "MSR value",
), "X86_MSR_POLICY (0x12) entry", "4.14", doc=(
    "v3 static data; the body is a non-empty array of these 16-byte entries.  The same layout is "
    "used for X86_PV_VCPU_MSRS entries."))


class RecType(enum.IntEnum):
    """libxc record types (xg_sr_stream_format.h)."""

    END = 0x00
    PAGE_DATA = 0x01
    X86_PV_INFO = 0x02
    X86_PV_P2M_FRAMES = 0x03
    X86_PV_VCPU_BASIC = 0x04
    X86_PV_VCPU_EXTENDED = 0x05
    X86_PV_VCPU_XSAVE = 0x06
    SHARED_INFO = 0x07
    X86_TSC_INFO = 0x08
    HVM_CONTEXT = 0x09
    HVM_PARAMS = 0x0A
    TOOLSTACK = 0x0B
    X86_PV_VCPU_MSRS = 0x0C
    VERIFY = 0x0D
    CHECKPOINT = 0x0E
    CHECKPOINT_DIRTY_PFN_LIST = 0x0F
    STATIC_DATA_END = 0x10
    X86_CPUID_POLICY = 0x11
    X86_MSR_POLICY = 0x12


class DomainType(enum.IntEnum):
    X86_PV = 1
    X86_HVM = 2


# -- libxl layer ---------------------------------------------------------------------------------

LIBXL_IDENT = b"LibxlFmt"
LIBXL_VERSION = 2
LIBXL_HEADER_SIZE = 16
#: libxl header options: bit 0 big endian, bit 1 written by convert-legacy-stream.
LIBXL_OPT_BIG_ENDIAN = 1 << 0
LIBXL_OPT_LEGACY = 1 << 1

libxl_header = _doc("libxl-header", Struct(
    "ident" / Const(LIBXL_IDENT) * "ASCII \"LibxlFmt\"",
    "version" / Int32ub * "2 (the libxl layer never had a version 3)",
    "options" / Int32ub * "bit 0 big endian (refused), bit 1 LEGACY: converted from a legacy "
                          "stream; bits 2-31 reserved, 0",
), "libxl stream header (big-endian)", "4.6", source=LIBXL_H, doc=(
    "libxl records use the libxc record header and padding; after LIBXC_CONTEXT the whole libxc "
    "stream follows, so a bare libxl file has its libxc stream at offset 24."))

emulator_header = _doc("libxl-emulator", Struct(
    "emulator_id" / Int32ul * "0 unknown (what converters write), 1 qemu-traditional, "
                              "2 qemu-upstream",
    "index" / Int32ul * "which emulator of that kind, 0",
    "data" / GreedyBytes * "EMULATOR_XENSTORE_DATA: NUL-terminated key, value, key, value... "
                           "(keys relative to the device model's xenstore directory); "
                           "EMULATOR_CONTEXT: the device model's save blob",
), "libxl EMULATOR_XENSTORE_DATA (2) / EMULATOR_CONTEXT (3) body", "4.6", source=LIBXL_H,
    doc="HVM only: libxl rejects these records for PV guests.")

checkpoint_state = _doc("libxl-checkpoint-state", Struct(
    "control_id" / Int32ul * "0 NEW, 1 SVM_SUSPENDED, 2 SVM_READY, 3 SVM_RESUMED",
), "libxl CHECKPOINT_STATE (5) body", "4.7", source=LIBXL_H,
    doc="COLO back channel only; never part of a saved image.")


class LibxlRecType(enum.IntEnum):
    END = 0
    LIBXC_CONTEXT = 1
    EMULATOR_XENSTORE_DATA = 2
    EMULATOR_CONTEXT = 3
    CHECKPOINT_END = 4
    CHECKPOINT_STATE = 5


# -- xl save-file header -------------------------------------------------------------------------

XL_HEADER_SIZE = XL_HEADER.sizeof()
#: xl mandatory flags: bit 0 config is JSON, bit 1 a libxl v2 stream follows.
XL_FLAG_JSON = 1 << 0

xl_header = _doc("xl-header", XL_HEADER, "xl save-file header", "4.1", source=XL_H, doc=(
    "Written by ``xl save`` before the stream.  The same header wraps legacy streams (Xen "
    "4.1-4.5) when STREAMv2 is clear; those belong to the legacy format."))

xl_config = _doc("xl-config", XL_CONFIG, "xl optional data", "4.1", source=XL_H, doc=(
    "The same optional data as in front of a legacy stream; the configuration is JSON with a "
    "trailing NUL when the JSON flag is set."))


def padding(length: int) -> int:
    """Zero bytes after a body of ``length`` bytes."""
    return -length % REC_ALIGN


# HVM_PARAM_* numbers that hold pfns (for the HVM p2m_size estimate; xen/include/public/hvm/params.h)
HVM_PARAM_PFNS = {1: "STORE_PFN", 5: "IOREQ_PFN", 6: "BUFIOREQ_PFN", 17: "CONSOLE_PFN",
                  27: "PAGING_RING_PFN", 28: "MONITOR_RING_PFN", 29: "SHARING_RING_PFN"}
HVM_PARAM_IOREQ_SERVER_PFN = 32
HVM_PARAM_NR_IOREQ_SERVER_PAGES = 33
