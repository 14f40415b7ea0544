"""The bytes of aligned v1, xcformat's page-aligned save image, declared once.

Layout (every integer little-endian):

* block 0: the :data:`FILE_HEADER`, 4096 bytes, whose first 32 bytes stop every legacy reader;
* then records, each a :data:`RECORD_HEADER` (type, length) and a body padded with zeros to a
  multiple of 8.  Every format-neutral record of :mod:`xcformat.records` has one record type,
  whose body fields carry the record's fields (so any reader's records come back unchanged, and
  the writer of the source format can reproduce the source byte for byte); records that
  changed shape after v1 was frozen are translated at the boundary (:mod:`.codec`);
* a page batch (:data:`BATCH_HEAD`) holds its entries, then zero padding up to the next
  4096-byte boundary, then its pages: every page starts on a block boundary;
* optionally an :data:`INDEX` record (pfn -> block of the latest copy of that page);
* last, the END record, which pads the file to a whole number of blocks and finishes with the
  fixed 48-byte :data:`TRAILER`, so random access finds the index from the end of the file.
"""

from __future__ import annotations

import construct as c

from ..records import (Checkpoint, CpuPolicy, EmulatorContext, EmulatorXenstore, GuestType,
                       HvmContext, HvmParams, ImageHeader, LastCheckpoint, Opaque, P2MFrames,
                       PvExtInfo, Record, SharedInfo, Toolstack, TscInfo, UnmappedPfns,
                       VcpuContext, VcpuExtended, VcpuInfo, VcpuMsrs, VcpuXsave, Wrapper)
from ..schema import document

FORMAT = "aligned"
SINCE = "xcformat 0.1"
SOURCE = "xcformat:xcformat/aligned/schema.py"

BLOCK = 4096
VERSION = 1
ID = b"XCAL"
TRAILER_MAGIC = b"XCAL-END"

#: The two ext-info lengths that stop legacy PV readers (see the FILE_HEADER docs).
STOP_LENGTH = 0x800
#: W=4 libxc reads a second ext-info block header here, whose size must overflow its total.
STOP_W32_OFFSET = 20 + STOP_LENGTH + 4
STOP_W32_SIZE = 0xFFFFFFF0

#: Compatible feature bits (a reader may ignore unknown ones) and incompatible ones (it must not).
COMPAT_INDEX = 1 << 0
KNOWN_COMPAT = COMPAT_INDEX
KNOWN_INCOMPAT = 0

#: BATCH_HEAD flags: the batch carries a gmfn per entry.
BATCH_GMFNS = 1 << 0
#: Largest page batch aligned v1 carries (MAX_BATCH_SIZE of every Xen save format).
MAX_BATCH = 1024
#: A u32 entry holds (type << 28) | pfn, the legacy encoding; wider pfns need u64 entries.
NARROW_PFN_LIMIT = 1 << 28
WIDE_PFN_LIMIT = 1 << 60
#: Index leaves cover 1024 consecutive pfns each.
LEAF_PFNS = 1024
#: Block numbers in the index are u32: files up to 16 TiB.
MAX_BLOCKS = 1 << 32

FILE_HEADER = document(FORMAT, "file-header", c.Struct(
    "marker" / c.Const(b"\xff" * 16) * (
        "all-ones: read as the first word (p2m_size) by a legacy reader of either toolstack "
        "width it is an impossible size, read as a v2 image header it lacks \"XENF\"; a PV "
        "legacy reader also takes bytes 4..15 as its extended-info signature"),
    "stop_total" / c.Const(STOP_LENGTH, c.Int32ul) * (
        "0x800: a 64-bit legacy PV reader reads it as the extended-info total; a 32-bit one as "
        "its first block's size; a legacy HVM reader as a batch count > 1024 and stops"),
    "id" / c.Const(ID, c.Bytes(4)) * "\"XCAL\": names the format (a legacy PV reader's block id)",
    "stop_block" / c.Const(STOP_LENGTH, c.Int32ul) * (
        "0x800: the first extended-info block size of a 64-bit legacy PV reader, larger than "
        "the total it declared (libxc 4.5 stops; convert-legacy-stream rejects the id)"),
    "version" / c.Int32ul * "format version: 1",
    "incompat_features" / c.Int64ul * (
        "feature bits a reader must understand to read the file; none are defined in v1, so "
        "a v1 reader refuses any set bit"),
    "compat_features" / c.Int64ul * (
        "feature bits a reader may ignore: bit 0 = an INDEX record precedes END"),
    "block_size" / c.Const(BLOCK, c.Int32ul) * (
        "alignment unit of the page data and of the file length: 4096"),
    "reserved" / c.Bytes(STOP_W32_OFFSET - 52) * "zero (a reader refuses anything else)",
    "stop_w32" / c.Const(STOP_W32_SIZE, c.Int32ul) * (
        "0xFFFFFFF0: where a 32-bit legacy PV reader, having skipped its first block, reads a "
        "second block's size; it exceeds what remains of the total and libxc stops"),
    "reserved2" / c.Bytes(BLOCK - STOP_W32_OFFSET - 4) * (
        "zero up to 4096 (a reader refuses anything else)"),
), title="File header", since=SINCE, source=SOURCE, doc=(
    "Block 0 of every aligned file.  Bytes 0..31 are constant and chosen so that every reader "
    "that only knows the legacy stream stops at once, whatever toolstack width or guest type "
    "it assumes (see the aligned rationale page), and so that no v2 reader takes it for a "
    "v2 image.  Nothing here describes the guest: that is in the IMAGE_HEADER record."))


def file_header(version: int, compat_features: int, incompat_features: int = 0) -> bytes:
    """Block 0 with the given version and feature bits."""
    return FILE_HEADER.build({
        "version": version, "incompat_features": incompat_features,
        "compat_features": compat_features, "reserved": bytes(STOP_W32_OFFSET - 52),
        "reserved2": bytes(BLOCK - STOP_W32_OFFSET - 4)})


RECORD_HEADER = document(FORMAT, "record-header", c.Struct(
    "type" / c.Int16ul * "record type (table below); 0 is never used",
    "flags" / c.Int16ul * "reserved, zero",
    "reserved" / c.Int32ul * "zero",
    "length" / c.Int64ul * (
        "body length in bytes, not counting the zero padding that brings the record to a "
        "multiple of 8 (batches and END end on a 4096 boundary by construction)"),
), title="Record header", since=SINCE, source=SOURCE, doc=(
    "Every record starts with this 16-byte header at an 8-aligned offset.  Unknown types are "
    "an error: there are no optional records in v1 (new ones come with a feature bit)."))

BATCH_HEAD = document(FORMAT, "batch", c.Struct(
    "count" / c.Int32ul * "number of entries, 1..1024",
    "entry_size" / c.Int8ul * (
        "4: each entry is u32 (type << 28) | pfn, as a 32-bit legacy stream writes it; "
        "8: u64 (type << 60) | pfn, for pfns of 2^28 and more"),
    "flags" / c.Int8ul * (
        "bit 0: a u64 machine frame (gmfn) per entry follows the entries, as PV core dumps "
        "record them; other bits zero"),
    "reserved" / c.Const(b"\x00" * 2) * "zero",
    "data_pages" / c.Int32ul * (
        "pages stored: the number of entries whose type carries data (0-4, 9-C)"),
    "head_pad" / c.Int32ul * (
        "zero bytes between the last entry and the first page, so the first page starts on "
        "a 4096-byte boundary (0 when data_pages is 0)"),
), title="PAGE_BATCH record body", since=SINCE, source=SOURCE, doc=(
    "Followed by count entries, (flag bit 0) count u64 gmfns, head_pad zero bytes and "
    "data_pages x 4096 bytes of pages in entry order.  The record ends on a block boundary, "
    "so each batch's page data is written and read as whole aligned blocks, straight from and "
    "into the caller's buffer."))

INDEX_HEAD = document(FORMAT, "index", c.Struct(
    "leaf_count" / c.Int32ul * "number of leaves",
    "reserved" / c.Int32ul * "zero",
    "pages" / c.Int64ul * "number of pfns whose latest copy has data (non-zero leaf slots)",
), title="INDEX record body", since=SINCE, source=SOURCE, doc=(
    "Followed by u64 leaf_key[leaf_count] (ascending; leaf k covers pfns k*1024 .. k*1024+1023) "
    "and the leaves, each 1024 u32 block numbers: the file offset / 4096 of the latest copy of "
    "that pfn's page, 0 if none (block 0 is the header, never a page).  A later entry for the "
    "same pfn wins; a BROKEN or XALLOC entry clears it; XTAB entries are ignored (their pfn "
    "field is not meaningful in legacy streams).  Finding a page costs two small reads."))

TRAILER = document(FORMAT, "trailer", c.Struct(
    "end_offset" / c.Int64ul * "file offset of the END record's header",
    "index_offset" / c.Int64ul * "file offset of the INDEX record's header, 0 when none",
    "batches" / c.Int64ul * "number of PAGE_BATCH records",
    "data_pages" / c.Int64ul * "number of pages stored (copies, not distinct pfns)",
    "records" / c.Int64ul * "number of records before END",
    "magic" / c.Const(TRAILER_MAGIC) * "\"XCAL-END\"",
), title="END record body: trailer", since=SINCE, source=SOURCE, doc=(
    "The END record's body is zero padding followed by this trailer; the padding makes the "
    "file end on a 4096 boundary, so the trailer is always the file's last 48 bytes."))


# -- adapters that turn record field types into bytes and back ------------------------------
class _Tuple(c.Adapter):
    def _decode(self, obj, context, path):
        return tuple(obj)

    def _encode(self, obj, context, path):
        return list(obj)


class _FrozenSet(c.Adapter):
    def _decode(self, obj, context, path):
        return frozenset(obj)

    def _encode(self, obj, context, path):
        return sorted(obj)


class _Optional(c.Adapter):
    """None, or a value behind a presence byte."""

    def _decode(self, obj, context, path):
        return obj.value if obj.present else None

    def _encode(self, obj, context, path):
        return {"present": obj is not None, "value": obj}


#: A strict boolean byte: 0 or 1, nothing else.
Bool = c.Mapping(c.Int8ul, {False: 0, True: 1})


def _optional(subcon, what):
    return _Optional(c.Struct(
        "present" / Bool * "1 when the value follows, 0 for none",
        "value" / c.If(c.this.present, subcon) * what))


class _Pairs(c.Adapter):
    """A tuple of 2-tuples, stored as structs with fields ``first`` and ``second``."""

    def _decode(self, obj, context, path):
        return tuple((item.first, item.second) for item in obj)

    def _encode(self, obj, context, path):
        return [{"first": a, "second": b} for a, b in obj]


def _pairs(first, second, doc_first, doc_second):
    return _Pairs(c.PrefixedArray(c.Int32ul, c.Struct("first" / first * doc_first,
                                                      "second" / second * doc_second)))


_TAGS = {type(None): 0, bool: 4, int: 1, bytes: 2, str: 3}


class _Dict(c.Adapter):
    """A dict of str -> None | int | bytes | str | bool (the Wrapper's extra header fields)."""

    def _decode(self, obj, context, path):
        return {item.key: item.value for item in obj}

    def _encode(self, obj, context, path):
        items = []
        for key, value in obj.items():
            tag = _TAGS.get(type(value))
            if tag is None:
                raise c.ExplicitError(f"field {key!r}: cannot store a {type(value).__name__}")
            items.append({"key": key, "tag": tag, "value": value})
        return items


Blob = c.Prefixed(c.Int32ul, c.GreedyBytes)
Text = c.PascalString(c.Int16ul, "utf8")
Guest = c.Mapping(c.Int8ul, {GuestType.PV: 0, GuestType.HVM: 1})
Pfns = _Tuple(c.PrefixedArray(c.Int32ul, c.Int64ul))
Version = _optional(_Tuple(c.Int32ul[2]), "(major, minor) of the saving Xen")
Fields = _Dict(c.PrefixedArray(c.Int32ul, c.Struct(
    "key" / Text * "field name",
    "tag" / c.Int8ul * "value type: 0 none, 1 i64, 2 bytes, 3 text, 4 bool",
    "value" / c.Switch(c.this.tag, {0: c.Pass, 1: c.Int64sl, 2: Blob, 3: Text, 4: Bool},
                       default=c.Error)
    * "the value")))


#: Record type number -> (record class, body struct), one entry per format-neutral record.
#: These bodies are version 1 of the format, frozen: they are declared here field by field, not
#: derived from the record classes, and the codec maps a body field to the record attribute of
#: the same name.  A record that changes shape gets a translation in the codec (or a new format
#: version), never a different body; committed v1 files in the tests hold each body's bytes.
RECORD_BODIES: dict[int, tuple[type[Record], c.Construct]] = {}

TYPE_BATCH = 0x01
TYPE_INDEX = 0x7E
TYPE_END = 0x7F


def _body(number: int, cls: type[Record], doc: str, *fields) -> None:
    struct = document(FORMAT, f"record-{cls.__name__}", c.Struct(*fields),
                      title=f"{cls.__name__} record body (type {number:#04x})",
                      since=SINCE, source=SOURCE, doc=doc)
    RECORD_BODIES[number] = (cls, struct)


_body(0x02, ImageHeader, "What the image says about the guest (always the first record).",
      "guest" / Guest * "0 PV, 1 HVM",
      "p2m_size" / _optional(c.Int64ul, "highest pfn + 1") * "p2m size, when the source has one",
      "guest_bits" / _optional(c.Int8ul, "32 or 64") * "PV guest width",
      "toolstack_bits" / _optional(c.Int8ul, "32 or 64") * (
          "the legacy toolstack's unsigned long width, when the source is legacy"),
      "xen_version" / Version * "saving Xen version, where the source states it",
      "variant" / Text * (
          "the source's format and layout, e.g. legacy-pv, v3+libxl, elf64 (lets its writer "
          "reproduce it)"),
      "xsave_size" / _optional(c.Int32ul, "bytes") * (
          "PV: each vCPU's xsave blob size, when the source tells it ahead (v2, read ahead)"))
_body(0x03, Wrapper, "A file wrapper of the source (xl or xend), kept to be rewritten exactly.",
      "kind" / Text * "xl or xend",
      "config" / Blob * "the domain configuration bytes as stored",
      "fields" / Fields * "the wrapper's other header fields, by name")
_body(0x04, PvExtInfo, "The legacy PV extended-info blocks, in stored order.",
      "blocks" / _pairs(c.Bytes(4), Blob, "4-character block id", "block payload")
      * "u32 count, then each block: id, u32 length, payload")
_body(0x05, P2MFrames, "PV: pfns of the pages holding the guest's p2m table.",
      "frames" / Pfns * "u32 count, then u64 pfns")
_body(0x06, VcpuInfo, "The set of online vCPUs.",
      "max_vcpu_id" / c.Int32sl * "highest vCPU id the map covers",
      "online" / _FrozenSet(c.PrefixedArray(c.Int32ul, c.Int32ul)) * (
          "u32 count, then the online vCPU ids in ascending order"))
_body(0x07, VcpuContext, "PV: one vCPU's vcpu_guest_context (guest layout).",
      "vcpu_id" / c.Int32ul * "vCPU id",
      "context" / Blob * "the context bytes")
_body(0x08, VcpuExtended, "PV: one vCPU's extended context.",
      "vcpu_id" / c.Int32ul * "vCPU id",
      "data" / Blob * "the extended context bytes")
_body(0x09, VcpuXsave, "PV: one vCPU's xsave state.",
      "vcpu_id" / c.Int32ul * "vCPU id",
      "data" / Blob * "xcr0, xcr0_accum, XSAVE area",
      "mask" / _optional(c.Int64ul, "host xfeature_mask") * "the legacy stream's mask")
_body(0x0A, VcpuMsrs, "PV: one vCPU's MSR list.",
      "vcpu_id" / c.Int32ul * "vCPU id",
      "data" / Blob * "MSR entries")
_body(0x0B, SharedInfo, "PV: the shared-info page.",
      "page" / Blob * "the page (4096 bytes in every Xen source)")
_body(0x0C, TscInfo, "TSC mode and frequency.",
      "mode" / c.Int32ul * "tsc_mode",
      "nsec" / c.Int64ul * "elapsed nanoseconds",
      "khz" / c.Int32ul * "TSC frequency in kHz",
      "incarnation" / c.Int32ul * "incarnation")
_body(0x0D, HvmParams, "HVM parameters in stream order.",
      "params" / _pairs(c.Int64ul, c.Int64ul, "HVM_PARAM_* index", "value")
      * "u32 count, then (index, value) pairs")
_body(0x0E, HvmContext, "HVM: the hypervisor's save-record blob.",
      "blob" / Blob * "the blob")
_body(0x0F, Toolstack, "Toolstack data (legacy chunk -18): libxl's physmap blob v1 at the "
      "width it was read at, or other data, opaque.",
      "data" / Blob * "the data")
_body(0x10, EmulatorContext, "The device model's saved state.",
      "data" / Blob * "the state",
      "emulator_id" / c.Int32ul * "libxl emulator id",
      "index" / c.Int32ul * "libxl emulator index",
      "signature" / _optional(Blob, "21-byte legacy signature") * "the legacy record signature")
_body(0x11, EmulatorXenstore, "The device model's xenstore keys (libxl's physmap/... keys "
      "where the physmap was read from them).",
      "data" / Blob * "packed NUL-terminated key/value strings",
      "emulator_id" / c.Int32ul * "libxl emulator id",
      "index" / c.Int32ul * "libxl emulator index")
_body(0x12, UnmappedPfns, "PV: pfns not in the p2m when the save ended.",
      "pfns" / Pfns * "u32 count, then u64 pfns")
_body(0x13, CpuPolicy, "v3 static data: a CPUID or MSR policy.",
      "kind" / Text * "cpuid or msr",
      "data" / Blob * "the record body")
_body(0x14, Opaque, "Something only one source format can carry (tmem, a v2 marker...).",
      "origin" / Text * "the format it came from",
      "kind" / Text * "what it is",
      "data" / Blob * "its bytes")
_body(0x15, Checkpoint, "End of one consistent snapshot of a checkpointed stream (no fields).")
_body(0x16, LastCheckpoint, "The saver's statement that no checkpoint follows (legacy -9; no "
      "fields).")

TYPE_OF_CLASS = {cls: number for number, (cls, _) in RECORD_BODIES.items()}
