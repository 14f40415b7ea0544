"""The tails after the body's 0: PV, HVM 3.1+, HVM 2007, qemu."""

from __future__ import annotations

from collections.abc import Iterator

from construct import Container

from ..codec import head
from ..records import (PAGE_SIZE, EmulatorContext, HvmContext, Opaque, Record, SharedInfo,
                       UnmappedPfns, VcpuContext, VcpuExtended, VcpuXsave)
from ..x86 import (EXT_VCPU_CONTEXT, EXT_VCPU_CONTEXT_SIZE, EXT_VCPU_MIN_SIZE, VGC_SIZE,
                   check_hvm_context, field_offset, field_value)
from ..x86.hvm_context import DESCRIPTOR as HVM_SAVE_DESCRIPTOR
from ..x86.hvm_context import HEADER as HVM_SAVE_HEADER
from ..x86.hvm_context import HVM_FILE_MAGIC
from .cursor import NOT_SENT, Cursor, Stream
from .payloads import HVM_CONTEXT_PAYLOAD, MAGIC_PFNS_PAYLOAD, QEMU_PAYLOAD, XSAVE_PAYLOAD
from .schema import (HVM_2007_VCPU, HVM_2007_VCPUS, HVM_CONTEXT, HVM_MAGIC_PFNS, MAGIC_PFNS,
                     MAX_QEMU, QEMU_LIBXL, QEMU_RECORDS, QEMU_REMUS, QEMU_XEND, XSAVE_RECORD)

MAX_GDT_ENTS = 8192
#: Where a 2007 HVM tail has the magic of its context's HEADER record.
_MAGIC_2007_AT = head(HVM_CONTEXT, "context_length").sizeof() + HVM_SAVE_DESCRIPTOR.sizeof()
NOTAB = 0
QEMU_FEATURES = {QEMU_LIBXL: "qemu-libxl", QEMU_REMUS: "qemu-remus", QEMU_XEND: "qemu-xend"}
UNPIN = 0x7          # LTABTYPE_MASK >> 28: ignore the pinned bit when checking a table type
#: Page-table levels a top-level table (cr3) may have, by guest width: 4 on x86_64; 3 (PAE),
#: or 2 for the non-PAE 32-bit hypervisors of 2007.
TOP_LEVELS = {64: {4}, 32: {3, 2}}


def check_frame_types(cursor: Cursor, stream: Stream) -> None:
    """Every frame-list page must have been sent as NOTAB (checked once the body is read)."""
    if stream.type_map is None:
        return
    for index, pfn in enumerate(stream.frames):
        if pfn >= stream.p2m_size:
            continue                  # beyond p2m_size: reported with the frame list
        if stream.type_map[pfn] != NOTAB:
            sent = stream.type_map[pfn]
            how = "never sent" if sent == NOT_SENT else f"sent with type {sent:#x}"
            cursor.problem(f"p2m frame-list entry {index} (pfn {pfn:#x}) was {how}, "
                           "not as an ordinary page", "p2m_frame_list",
                           stream.frames_offset + stream.structs.word * index)
            return


def read_pv_tail(cursor: Cursor, stream: Stream) -> Iterator[Record]:
    yield read_unmapped(cursor, stream)
    for vcpu in stream.online:
        yield from read_pv_vcpu(cursor, stream, vcpu)
    start = cursor.offset
    page = bytes(cursor.read(PAGE_SIZE, "shared_info"))
    cursor.region(start, "tail", "shared-info page")
    yield SharedInfo(page)


def read_unmapped(cursor: Cursor, stream: Stream) -> UnmappedPfns:
    start = cursor.offset
    count = cursor.parse(head(stream.structs.unmapped_pfns, "count"),
                         "unmapped_pfns").count
    if count > stream.p2m_size:
        raise cursor.error(f"{count} unmapped pfns > p2m_size {stream.p2m_size:#x}",
                           "unmapped_pfns.count", start)
    word = stream.structs.word
    cursor.check_fits(count * word, "unmapped_pfns.pfns")
    pfns: list[int] = []
    for piece in cursor.source.chunks(count * word, "unmapped_pfns.pfns", step=word << 20):
        pfns.extend(piece.cast("Q" if word == 8 else "I").tolist())
    if pfns and max(pfns) >= stream.p2m_size:
        index = next(i for i, p in enumerate(pfns) if p >= stream.p2m_size)
        cursor.problem(f"unmapped pfn {pfns[index]:#x} >= p2m_size {stream.p2m_size:#x}",
                       "unmapped_pfns.pfns", start + 4 + word * index)
    cursor.region(start, "tail", f"{count} unmapped pfns")
    return UnmappedPfns(tuple(pfns))


def read_pv_vcpu(cursor: Cursor, stream: Stream, vcpu: int) -> Iterator[Record]:
    start = cursor.offset
    context = bytes(cursor.read(stream.structs.vcpu_context_size, f"vcpu{vcpu}.context"))
    check_pv_context(cursor, stream, vcpu, context, start)
    cursor.region(start, "tail", f"vCPU {vcpu} context")
    yield VcpuContext(vcpu, context)
    if stream.extv:
        start = cursor.offset
        ext = bytes(cursor.read(EXT_VCPU_CONTEXT_SIZE, f"vcpu{vcpu}.extended"))
        named = field_value(EXT_VCPU_CONTEXT, ext, "vcpu")
        if named != vcpu:
            cursor.warn(f"extended context of vCPU {vcpu} names vCPU {named} (3.2's restorer "
                        "rejects this)",
                        f"vcpu{vcpu}.extended.vcpu", start)
        size = field_value(EXT_VCPU_CONTEXT, ext, "size")
        if not EXT_VCPU_MIN_SIZE <= size <= EXT_VCPU_CONTEXT_SIZE:
            # The restorer hands the slot to XEN_DOMCTL_set_ext_vcpucontext as it is.
            cursor.warn(f"extended context of vCPU {vcpu} says size {size}: Xen takes "
                        f"{EXT_VCPU_MIN_SIZE}..{EXT_VCPU_CONTEXT_SIZE} (domctl.c, EINVAL "
                        "otherwise), so a restore fails here", f"vcpu{vcpu}.extended.size",
                        start + 4)
        cursor.region(start, "tail", f"vCPU {vcpu} extended context")
        yield VcpuExtended(vcpu, ext)
    if stream.xsave_record_size is not None:
        yield read_xsave(cursor, stream, vcpu)


def read_xsave(cursor: Cursor, stream: Stream, vcpu: int) -> VcpuXsave:
    start = cursor.offset
    record = XSAVE_PAYLOAD.load(cursor.parse(XSAVE_RECORD, f"vcpu{vcpu}.xsave"), vcpu)
    size = len(record.data)
    if size + 16 != stream.xsave_record_size:
        stream.versions.saw("xsave-size-per-vcpu")
        cursor.warn(f"vCPU {vcpu}: xsave size {size} + 16 differs from xcnt "
                    f"{stream.xsave_record_size} (libxc and the Xen converter assume equal "
                    "sizes; 4.4+ may write this)", f"vcpu{vcpu}.xsave.size", start + 8)
    cursor.region(start, "tail", f"vCPU {vcpu} xsave")
    return record


def check_pv_context(cursor: Cursor, stream: Stream, vcpu: int, context: bytes,
                     start: int) -> None:
    """Canonical pfns of the context: start_info (vCPU 0), GDT frames, cr3."""
    bits = stream.structs.guest_bits
    layout = stream.structs.vcpu_context

    def get(path: str) -> int:
        return field_value(layout, context, path)

    gdt_ents = get("gdt_ents")
    if gdt_ents > MAX_GDT_ENTS:
        raise cursor.error(f"vCPU {vcpu}: gdt_ents {gdt_ents} > {MAX_GDT_ENTS}",
                           f"vcpu{vcpu}.context.gdt_ents",
                           start + field_offset(layout, "gdt_ents"))
    wanted = [(f"gdt_frames.{j}", get(f"gdt_frames.{j}"), {NOTAB}, False)
              for j in range(-(-gdt_ents // 512))]
    if vcpu == 0:
        wanted.append(("user_regs." + ("rdx" if bits == 64 else "edx"),
                       get("user_regs." + ("rdx" if bits == 64 else "edx")), {NOTAB}, False))
    cr3 = get("ctrlreg.3")
    cr3_pfn = cr3 >> 12 if bits == 64 else ((cr3 >> 12) | (cr3 << 20)) & 0xFFFFFFFF
    wanted.append(("ctrlreg.3", cr3_pfn, TOP_LEVELS[bits], True))
    for path, pfn, types, table in wanted:
        at = start + field_offset(layout, path)
        if pfn >= stream.p2m_size:
            cursor.problem(f"vCPU {vcpu}: {path} names pfn {pfn:#x} >= p2m_size "
                           f"{stream.p2m_size:#x}", f"vcpu{vcpu}.context.{path}", at)
            continue
        if stream.type_map is None:
            continue
        sent = stream.type_map[pfn]
        kind = sent & UNPIN if table and sent != NOT_SENT else sent
        if kind not in types:
            what = "a top-level page table" if table else "an ordinary (NOTAB) page"
            how = "never sent" if sent == NOT_SENT else f"sent with type {sent:#x}"
            cursor.problem(f"vCPU {vcpu}: {path} names pfn {pfn:#x}, {how}, not {what}",
                           f"vcpu{vcpu}.context.{path}", at)


def read_hvm_tail(cursor: Cursor, stream: Stream) -> Iterator[Record]:
    # The 2007 tail starts with the context length, so its HEADER magic lies at +12 (after the
    # length and the first record's descriptor), where the 3.1+ tail has the upper half of the
    # bufioreq pfn (always 0).
    head = cursor.source.peek(_MAGIC_2007_AT + 4)
    if len(head) == _MAGIC_2007_AT + 4 and \
            field_value(HVM_SAVE_HEADER, head[_MAGIC_2007_AT:], "magic") == HVM_FILE_MAGIC:
        stream.hvm_2007 = True
        yield from read_hvm_2007_tail(cursor, stream)
        return
    stream.versions.saw("hvm-tail-3.1")
    start = cursor.offset
    pfns = cursor.parse(HVM_MAGIC_PFNS, "hvm_tail")
    for index, name in enumerate(MAGIC_PFNS):
        if pfns[name] >= stream.p2m_size:
            cursor.problem(f"{name} {pfns[name]:#x} >= p2m_size {stream.p2m_size:#x}",
                           f"hvm_tail.{name}", start + 8 * index)
    cursor.region(start, "tail", "HVM magic pfns")
    yield MAGIC_PFNS_PAYLOAD.load(pfns, None)
    yield read_hvm_context(cursor, stream, "hvm_tail")


def read_hvm_context(cursor: Cursor, stream: Stream, where: str) -> HvmContext:
    start = cursor.offset
    record = HVM_CONTEXT_PAYLOAD.load(cursor.parse(HVM_CONTEXT, where), None)
    stream.hvm_vcpus = check_hvm_context(record.blob, base=start + 4,
                                         file=cursor.source.name).cpus
    cursor.region(start, "tail", "HVM context")
    return record


def read_hvm_2007_tail(cursor: Cursor, stream: Stream) -> Iterator[Record]:
    yield read_hvm_context(cursor, stream, "hvm_2007_tail")
    start = cursor.offset
    count = cursor.parse(HVM_2007_VCPUS, "hvm_2007_tail").nr_vcpus
    size = VGC_SIZE[stream.structs.toolstack_bits]
    cursor.check_fits(count * (4 + size), "hvm_2007_tail.vcpus")
    stream.hvm_vcpus = count      # 2007 kept the vCPU state beside the context (833623e78a)
    for vcpu in range(count):
        at = cursor.offset
        declared = cursor.parse(head(HVM_2007_VCPU, "size"), f"hvm_2007_vcpu{vcpu}").size
        if declared != size:
            raise cursor.error(f"vCPU record size {declared}, expected {size}",
                               f"hvm_2007_vcpu{vcpu}.size", at)
        yield VcpuContext(vcpu, bytes(cursor.read(size, f"hvm_2007_vcpu{vcpu}.context")))
    frame = bytes(cursor.read(4, "hvm_2007_tail.shared_info_frame"))
    cursor.region(start, "tail", f"{count} vCPU contexts and the shared-info frame")
    yield Opaque("legacy", "hvm-2007-tail", frame)


def read_qemu(cursor: Cursor, stream: Stream) -> EmulatorContext:
    """One device-model record (the signature has been peeked and is known)."""
    start = cursor.offset
    signature = qemu_signature(cursor)
    stream.versions.saw(QEMU_FEATURES[signature])
    if signature == QEMU_XEND:
        cursor.parse(head(QEMU_RECORDS[signature], "signature"), "qemu")
        data = read_to_eof(cursor)
        if not data.startswith(b"QEVM"):
            raise cursor.error("QemuDeviceModelRecord data does not start with QEVM",
                               "qemu.data", start + 21)
    else:
        length = cursor.parse(head(QEMU_RECORDS[signature], "length"), "qemu").length
        cursor.check_fits(length, "qemu.length")
        data = bytes(cursor.read(length, "qemu.data"))
    cursor.region(start, "tail", f"qemu record {signature.decode()}")
    return QEMU_PAYLOAD.load(Container(data=data), signature)


def read_to_eof(cursor: Cursor) -> bytes:
    data = bytearray()
    while not cursor.source.at_eof():
        if len(data) > MAX_QEMU:
            raise cursor.error(f"qemu state larger than {MAX_QEMU} bytes", "qemu.data")
        data += cursor.source.read_upto(1 << 20)
    return bytes(data)


def qemu_signature(cursor: Cursor) -> bytes | None:
    """The known qemu signature at the current offset, if any."""
    head = cursor.source.peek(21)
    return head if head in QEMU_RECORDS else None
