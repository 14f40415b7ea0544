"""Records -> legacy stream bytes.

Records read from a legacy image come back byte for byte: body records are written as they
arrive, and the tail (which other formats deliver in another order) is gathered and written at
the next :class:`Checkpoint` or :class:`End`.  Records from other formats are fitted in: HVM
parameters become value chunks and tail pfns, a PV extended-info block is synthesised, a -2
chunk is derived from the vCPU contexts, and -9 marks a non-checkpointed stream.
With ``options.align`` (``--align``) the records pass through :mod:`.align` first, which re-cuts
the page batches with XTAB fillers so that every page starts on a 4 KiB boundary.
"""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, cast

from ..codec import build, head
from ..drops import NO_XL_CONFIG, kind_of, refuse_or_drop, what_of
from ..entries import pack_typed, with_fillers
from ..errors import FormatError, UnsupportedError
from ..formats import Hints, WriteOptions
from ..io import Sink
from ..records import (DATA_TYPES, NO_P2M_FRAMES, PAGE_SIZE, Checkpoint, EmulatorContext,
                       EmulatorXenstore, End, GuestType, HvmContext, HvmParams, ImageHeader,
                       LastCheckpoint, Opaque, P2MFrames, PageBatch, PageType, Physmap, PvExtInfo,
                       Record,
                       SharedInfo, Toolstack, TscInfo, UnmappedPfns, VcpuContext, VcpuExtended,
                       VcpuInfo, VcpuXsave, Wrapper)
from ..x86 import (EXT_VCPU_CONTEXT, EXT_VCPU_CONTEXT_SIZE, EXT_VCPU_MIN_SIZE, VGC_SIZE,
                   XSAVE_STATE, check_hvm_context, field_value, set_field)
from . import align, physmap, wrappers
from .options import LegacyOptions
from .body import record_types
from .cursor import Cursor, Stream
from .payloads import (CHUNK_PAYLOADS, HVM_CONTEXT_PAYLOAD, MAGIC_PFNS_PAYLOAD, QEMU_PAYLOAD,
                       XSAVE_PAYLOAD)
from .schema import (BODY_ITEM, CHUNK_OF_PARAM, CHUNKS, EXT_BLOCK, HVM_2007_VCPU,
                     HVM_2007_VCPUS, HVM_CONTEXT, HVM_MAGIC_PFNS, MAGIC_PFNS, MAX_BATCH,
                     MAX_P2M_SIZE, MAX_VCPU_ID, LegacyStructs, QEMU_LIBXL, QEMU_RECORDS, QEMU_XEND,
                     XCNT_PAYLOAD, XSAVE_RECORD, structs)
from .tail import check_frame_types, check_pv_context

#: Opaque legacy items and the chunk id that carries their bytes.
OPAQUE_CHUNKS = {"verify-mode": -1, "tmem": -5, "tmem-extra": -6}


@dataclass
class _Tail:
    """One checkpoint's tail, gathered until it can be written in legacy order."""

    unmapped: tuple[int, ...] = ()
    vcpus: dict[int, dict[str, Any]] = field(default_factory=dict)   # record class name -> record
    shared_info: bytes | None = None
    magic_pfns: dict[int, int] = field(default_factory=dict)
    hvm_context: bytes | None = None
    emulators: list[EmulatorContext] = field(default_factory=list)
    hvm_2007_frame: bytes | None = None

    def vcpu(self, vcpu_id: int) -> dict[str, Any]:
        return self.vcpus.setdefault(vcpu_id, {})


def last_copies(batch: PageBatch) -> PageBatch:
    """``batch`` naming each pfn at most once, keeping its last copy (what a restore ends with).

    v2 lets a PAGE_DATA record repeat a pfn (``--align`` fills batches that way); legacy batches
    never do, and convert-legacy-stream and our validator refuse it.
    XTAB entries carry no page and may repeat.  Only a batch with repeats pays the per-entry loop.
    """
    if PageType.XTAB not in batch.types and len(set(batch.pfns)) == len(batch.pfns):
        return batch
    entries = list(zip(batch.pfns, batch.types))
    real = [p for p, t in entries if t != PageType.XTAB]
    if len(set(real)) == len(real):
        return batch
    last = {p: i for i, (p, t) in enumerate(entries) if t != PageType.XTAB}
    keep = [t == PageType.XTAB or last[p] == i for i, (p, t) in enumerate(entries)]
    page_of = itertools.accumulate((t in DATA_TYPES for _, t in entries), initial=0)
    pages = [batch.data[n * PAGE_SIZE:(n + 1) * PAGE_SIZE]
             for (_, t), n, k in zip(entries, page_of, keep) if k and t in DATA_TYPES]
    return replace(batch, pfns=tuple(itertools.compress(batch.pfns, keep)),
                   types=bytes(itertools.compress(batch.types, keep)),
                   data=memoryview(b"".join(pages)),
                   gmfns=None if batch.gmfns is None
                   else tuple(itertools.compress(batch.gmfns, keep)))


def _xcr0_accum(blob: bytes) -> int:
    """The mask for an xsave blob from a format without one (v2 drops it): the blob's own
    xcr0_accum (its second u64), every feature the guest ever enabled, so never 0."""
    return field_value(XSAVE_STATE, blob, "xcr0_accum") if len(blob) >= 16 else 0


class _Refusals:
    """The ``cursor`` the reader's PV checks raise through: here, their findings refuse."""

    @staticmethod
    def error(message: str, field: str, offset: int | None = None) -> UnsupportedError:
        return UnsupportedError(f"{message} (legacy restorers refuse it: {field})")

    @classmethod
    def problem(cls, message: str, field: str, offset: int | None = None) -> None:
        raise cls.error(message, field, offset)


#: The checks call only ``error`` and ``problem``, which :class:`_Refusals` has.
REFUSALS = cast(Cursor, _Refusals)


class LegacyWriter:
    """Writes one legacy image to ``sink``."""

    def __init__(self, sink: Sink, options: WriteOptions = WriteOptions()):
        self.sink = sink
        self.options = options
        self.header: ImageHeader | None = None
        self.structs: LegacyStructs | None = None
        self.from_legacy = False
        self.wrapped = False
        self.ext_ids: tuple[bytes, ...] = ()
        self.saw_vcpu_info = False
        #: PV: the frames and page types written, for the reader's checks of the tail
        self.written: Stream | None = None
        self.saw_last_checkpoint = False
        self.checkpointed = False
        self.tail = _Tail()
        #: What legacy does with each record kind it carries (the others are refused or dropped).
        self.handlers: dict[type[Record], Callable[[Any], None]] = {
            Wrapper: self._wrapper, ImageHeader: self._image_header, PvExtInfo: self._ext_info,
            P2MFrames: self._frames, PageBatch: self._batch, VcpuInfo: self._vcpu_info,
            HvmParams: self._hvm_params, TscInfo: self._tsc, Toolstack: self._toolstack,
            Physmap: self._physmap,
            Opaque: self._opaque, LastCheckpoint: self._last_checkpoint,
            UnmappedPfns: self._unmapped, VcpuContext: self._vcpu_part,
            VcpuExtended: self._vcpu_part, VcpuXsave: self._vcpu_part,
            SharedInfo: self._shared_info, HvmContext: self._hvm_context,
            EmulatorContext: self._emulator, Checkpoint: self._checkpoint, End: self._end,
            EmulatorXenstore: self._xenstore,
        }

    def write(self, records: Iterable[Record]) -> None:
        records = (self._wrapper_asked(r) if isinstance(r, Wrapper) else r for r in records)
        if self.options.align:
            records = align.aligned_records(records, self, self.options.say)
        for record in records:
            handler = self.handlers.get(type(record))
            if handler is None:
                self._refuse(record)
            else:
                handler(record)

    @property
    def read_hints(self) -> Hints:
        """What a reader of this stream must be told: its bytes need not say either."""
        if self.header is None:
            return Hints()
        return Hints(guest=self.header.guest, toolstack_bits=self.structs.toolstack_bits)

    # -- what --align needs (align.AlignTarget) ----------------------------------------------
    @property
    def next_offset(self) -> int:
        return self.sink.offset

    @property
    def entry_bytes(self) -> int:
        if self.structs is None:
            raise FormatError("page data before the image header", file=self.sink.name,
                              offset=self.sink.offset, field="records")
        return self.structs.toolstack_bits // 8

    def write_pad_chunks(self, count: int) -> None:
        for _ in range(count):
            self._chunk(-9)

    # -- helpers ----------------------------------------------------------------------------
    def _put(self, *parts: bytes | memoryview) -> None:
        for part in parts:
            self.sink.write(part)

    def _chunk(self, chunk_id: int, record: Record | None = None) -> None:
        """Chunk ``chunk_id``: its id, then ``record`` through its payload codec and schema."""
        spec = CHUNKS[chunk_id]
        body = b""
        if record is not None:
            values = CHUNK_PAYLOADS[chunk_id].dump(record, spec)
            body = build(spec.payload, values, f"chunk{chunk_id}")
        self._put(BODY_ITEM.build(chunk_id) + body)

    def _opaque_chunk(self, chunk_id: int, data: bytes) -> None:
        """A chunk without a fixed layout (tmem, verify mode), as its source stored it."""
        self._put(BODY_ITEM.build(chunk_id) + data)

    def _need_header(self, record: Record) -> None:
        if self.header is None:
            raise FormatError(f"{type(record).__name__} before the image header",
                              file=self.sink.name, offset=self.sink.offset, field="records")

    def _refuse(self, record: Record, reason: str | None = None) -> None:
        what = what_of(record) + (f" ({reason})" if reason else "")
        refuse_or_drop(self.options, "legacy", kind_of(record), what)

    @property
    def word_format(self) -> str:
        return "Q" if self.structs.toolstack_bits == 64 else "I"

    def _words(self, values) -> bytes:
        return array(self.word_format, values).tobytes()

    # -- header -----------------------------------------------------------------------------
    def _wrapper_asked(self, record: Wrapper) -> Wrapper:
        """The source's wrapper, or the one ``--wrap`` asks for instead: xend's S-expression
        configuration means nothing to xl (nor xl's to xend), so it goes."""
        wrap = self.options.wrap
        if wrap is None or wrap == record.kind:
            return record
        refuse_or_drop(self.options, "legacy", "config",
                       f"the {record.kind} wrapper's domain configuration in an {wrap} file")
        return self._empty_wrapper()

    def _empty_wrapper(self) -> Wrapper:
        if self.options.wrap == "xl":
            self.options.say(NO_XL_CONFIG)
        return Wrapper(self.options.wrap, b"", {})

    def _wrapper(self, record: Wrapper) -> None:
        self._put(wrappers.encode(record))
        self.wrapped = True

    def _image_header(self, record: ImageHeader) -> None:
        if record.p2m_size is None:
            raise UnsupportedError("the legacy format needs the guest's p2m size")
        if not 0 < record.p2m_size < MAX_P2M_SIZE:
            # Batch entries are ``type << 28 | pfn``: legacy pfns have 28 bits.
            raise UnsupportedError(f"p2m_size {record.p2m_size:#x} (1 + the highest pfn the "
                                   f"image names): a legacy stream holds pfns below "
                                   f"{MAX_P2M_SIZE - 1:#x}")
        w = self.options.own(LegacyOptions).toolstack_bits or record.toolstack_bits or 64
        g = record.guest_bits or w if record.guest is GuestType.PV else w
        self.header, self.structs = record, structs(w, g)
        # Records of a legacy stream come back as they were; others are fitted in.
        self.from_legacy = record.provenance.format == "legacy"
        if record.guest is GuestType.PV:
            self.written = Stream(GuestType.PV, self.structs, record.p2m_size)
            self.written.enable_type_map()
        if self.options.wrap and not self.wrapped:
            self._put(wrappers.encode(self._empty_wrapper()))
        self._put(build(self.structs.header, {"p2m_size": record.p2m_size}, "p2m_size"))

    def _ext_info(self, record: PvExtInfo) -> None:
        self._need_header(record)
        payload = b"".join(build(EXT_BLOCK, {"id": block_id, "size": len(data),
                                             "payload": data}, "ext_block")
                           for block_id, data in record.blocks)
        self._put(build(self.structs.ext_info_header, {"tot": len(payload)}, "ext_info"),
                  payload)
        self.ext_ids = tuple(block_id for block_id, _ in record.blocks)

    def _frames(self, record: P2MFrames) -> None:
        self._need_header(record)
        size = self.header.p2m_size
        want = self.structs.frame_list_entries(size)
        if len(record.frames) != want:
            raise UnsupportedError(f"{len(record.frames)} p2m frames for p2m_size {size:#x}: "
                                   f"a legacy stream lists exactly {want}")
        beyond = next((i for i, pfn in enumerate(record.frames) if pfn >= size), None)
        if beyond is not None:
            raise UnsupportedError(f"p2m frame-list entry {beyond} is pfn "
                                   f"{record.frames[beyond]:#x} >= p2m_size {size:#x}")
        if self.written is not None:
            self.written.frames, self.written.frames_offset = record.frames, self.sink.offset
        if not self.from_legacy and not self.ext_ids:
            # Restorers since 3.2 expect ext-info; its "vcpu" block is read for its size (the
            # guest width) and vm_assist only, so a zeroed context is what we can offer.
            size = self.structs.vcpu_context_size
            blocks = [(b"vcpu", bytes(size)), (b"extv", b"")]
            if self.header.xsave_size:
                # "xcnt" = 16 + S: the mask and size words before each S-byte blob.
                blocks.append((b"xcnt", XCNT_PAYLOAD.build(
                    {"xsave_record_size": 16 + self.header.xsave_size})))
            self._ext_info(PvExtInfo(tuple(blocks)))
        self._put(self._words(record.frames))

    # -- body -------------------------------------------------------------------------------
    def _batch(self, record: PageBatch) -> None:
        self._need_header(record)
        if not self.from_legacy:
            record = last_copies(record)
            if record.pfns and max(record.pfns) >= self.header.p2m_size:
                raise UnsupportedError(f"page of pfn {max(record.pfns):#x} >= p2m_size "
                                       f"{self.header.p2m_size:#x}")
        pfns, types = record.pfns, record.types
        if record.fillers:
            pfns, types = with_fillers(pfns, types, record.fillers)
        if self.written is not None and not self.written.frames:
            raise UnsupportedError(NO_P2M_FRAMES)
        if len(pfns) > MAX_BATCH:
            raise UnsupportedError(f"a batch of {len(pfns)} pages (legacy batches hold at "
                                   f"most {MAX_BATCH})")
        if pfns and max(pfns) < 1 << 28 and max(types) <= 0xF:
            # Entries are u32 ``type << 28 | pfn`` (widened to u64 by a 64-bit toolstack).
            entries: memoryview | list[int] = memoryview(pack_typed(pfns, types, 4)).cast("I")
        else:
            entries = [(t << 28) | p for p, t in zip(pfns, types)]
        self._put(BODY_ITEM.build(len(pfns)) + self._words(entries), record.data)
        if self.written is not None and self.written.type_map is not None and pfns:
            record_types(self.written.type_map, pfns, types, PageType.XTAB in types)

    def _vcpu_info(self, record: VcpuInfo) -> None:
        ids = (record.max_vcpu_id, *record.online)
        if min(ids) < 0 or max(ids) > MAX_VCPU_ID:
            # Checked before the bitmap is sized by the highest id: the restorer keeps a
            # 4096-bit online map (XC_SR_MAX_VCPUS, xg_save_restore.h).
            bad = min(ids) if min(ids) < 0 else max(ids)
            raise UnsupportedError(f"vCPU id {bad}: a legacy image holds vCPU ids 0.."
                                   f"{MAX_VCPU_ID}")
        self._chunk(-2, replace(record, max_vcpu_id=max(ids)))
        self.saw_vcpu_info = True

    def _hvm_params(self, record: HvmParams) -> None:
        for index, value in record.params:
            if index in MAGIC_PFNS.values():
                self.tail.magic_pfns[index] = value
            elif not value and not self.from_legacy:
                continue        # legacy savers write a value chunk only when it is non-zero
            elif index in CHUNK_OF_PARAM:
                self._chunk(CHUNK_OF_PARAM[index], HvmParams(((index, value),)))
            else:
                refuse_or_drop(self.options, "legacy", "hvm-params", f"HVM parameter {index}")

    def _tsc(self, record: TscInfo) -> None:
        self._chunk(-7, record)

    def _toolstack(self, record: Toolstack) -> None:
        self._chunk(-18, record)

    def _physmap(self, record: Physmap) -> None:
        """libxl's toolstack blob, laid out for this stream's toolstack width."""
        self._need_header(record)
        self._chunk(-18, Toolstack(physmap.to_blob(record, self.structs.toolstack_bits)))

    def _xenstore(self, record: EmulatorXenstore) -> None:
        key = record.data.split(b"\0", 1)[0].decode(errors="replace")
        self._refuse(record, f"key {key!r}: only a libxl physmap has a legacy equivalent")

    def _opaque(self, record: Opaque) -> None:
        if record.origin == "legacy" and record.kind in OPAQUE_CHUNKS:
            self._opaque_chunk(OPAQUE_CHUNKS[record.kind], record.data)
        elif record.origin == "legacy" and record.kind == "hvm-2007-tail":
            self.tail.hvm_2007_frame = record.data
        else:
            self._refuse(record)

    def _last_checkpoint(self, record: LastCheckpoint) -> None:
        self._chunk(-9)
        self.saw_last_checkpoint = True

    # -- tail -------------------------------------------------------------------------------
    def _unmapped(self, record: UnmappedPfns) -> None:
        self.tail.unmapped = record.pfns

    def _vcpu_part(self, record: VcpuContext | VcpuExtended | VcpuXsave) -> None:
        self.tail.vcpu(record.vcpu_id)[type(record).__name__] = record

    def _shared_info(self, record: SharedInfo) -> None:
        self.tail.shared_info = record.page

    def _hvm_context(self, record: HvmContext) -> None:
        self.tail.hvm_context = record.blob

    def _emulator(self, record: EmulatorContext) -> None:
        self.tail.emulators.append(record)

    def _checkpoint(self, record: Checkpoint) -> None:
        self.checkpointed = True
        self._flush()

    def _end(self, record: End) -> None:
        self._flush()

    def _flush(self) -> None:
        """End the body and write the gathered tail."""
        if self.header is None:
            raise UnsupportedError("no image header among the records")
        tail, self.tail = self.tail, _Tail()
        if not self.from_legacy:
            self._close_foreign_body(tail)
        self._put(BODY_ITEM.build(0))
        if self.header.guest is GuestType.PV:
            self._pv_tail(tail)
        elif tail.hvm_2007_frame is not None:
            self._hvm_2007_tail(tail)
        else:
            self._hvm_tail(tail)

    def _close_foreign_body(self, tail: _Tail) -> None:
        """What a legacy restorer expects at the end of a body that another format supplied."""
        if self.header.guest is GuestType.PV and not self.saw_vcpu_info and tail.vcpus:
            online = frozenset(tail.vcpus)
            self._vcpu_info(VcpuInfo(max(online), online))
        if not self.checkpointed and not self.saw_last_checkpoint:
            self._last_checkpoint(LastCheckpoint())

    def _pv_tail(self, tail: _Tail) -> None:
        check_frame_types(REFUSALS, self.written)
        count = head(self.structs.unmapped_pfns, "count")
        self._put(count.build({"count": len(tail.unmapped)}) + self._words(tail.unmapped))
        size = self.structs.vcpu_context_size
        if 0 not in tail.vcpus:
            raise UnsupportedError("the PV tail needs vCPU 0's context")
        for vcpu, parts in tail.vcpus.items():
            context = parts.get("VcpuContext")
            if context is None or len(context.context) != size:
                raise UnsupportedError(f"vCPU {vcpu}: the PV tail needs a {size}-byte context")
            check_pv_context(REFUSALS, self.written, vcpu, context.context, self.sink.offset)
            self._put(context.context)
            if b"extv" in self.ext_ids:
                self._put(self._extended_slot(vcpu, parts.get("VcpuExtended")))
            xsave = parts.get("VcpuXsave")
            if b"xcnt" in self.ext_ids:
                if xsave is None:
                    raise UnsupportedError(f"vCPU {vcpu}: xcnt promises an xsave record")
                if not xsave.mask:
                    xsave = replace(xsave, mask=_xcr0_accum(xsave.data))
                self._put(build(XSAVE_RECORD, XSAVE_PAYLOAD.dump(xsave, vcpu),
                                f"vcpu{vcpu}.xsave"))
            elif xsave is not None:
                self._refuse(xsave, "its size had to be stated before the p2m frame list and "
                                    "the source did not say it (a v2 stream on a pipe cannot "
                                    "be pre-scanned: read it from a file)")
        if tail.shared_info is None or len(tail.shared_info) != PAGE_SIZE:
            raise UnsupportedError("the PV tail needs the 4096-byte shared-info page")
        self._put(tail.shared_info)

    def _extended_slot(self, vcpu: int, ext: VcpuExtended | None) -> bytes:
        """The fixed 128-byte slot legacy restorers read (xc_domain_restore.c of 4.5 copies
        128 bytes into the domctl union): v2 carries only the ``size`` bytes the hypervisor
        filled (64 on 4.10+, 56 on 4.3-4.9), so the rest is zero, as the saver left it."""
        if ext is None or not ext.data:
            # Nothing saved (a dump, or the 8-byte EXTENDED of 4.6-4.8): the callbacks alone,
            # size = offsetof(vmce) = 32, the least set_ext_vcpucontext accepts (domctl.c).
            slot = bytearray(EXT_VCPU_CONTEXT_SIZE)
            set_field(EXT_VCPU_CONTEXT, slot, "vcpu", vcpu)
            set_field(EXT_VCPU_CONTEXT, slot, "size", EXT_VCPU_MIN_SIZE)
            return bytes(slot)
        if len(ext.data) > EXT_VCPU_CONTEXT_SIZE:
            raise UnsupportedError(f"vCPU {vcpu}: an extended context of {len(ext.data)} bytes "
                                   f"(the legacy slot holds {EXT_VCPU_CONTEXT_SIZE})")
        return ext.data.ljust(EXT_VCPU_CONTEXT_SIZE, b"\0")

    def _hvm_tail(self, tail: _Tail) -> None:
        for name, param in MAGIC_PFNS.items():
            pfn = tail.magic_pfns.get(param, 0)
            if pfn >= self.header.p2m_size:
                raise UnsupportedError(f"the HVM {name} {pfn:#x} >= p2m_size "
                                       f"{self.header.p2m_size:#x}: the legacy tail's magic "
                                       "pfns lie in the guest's p2m")
        pfns = MAGIC_PFNS_PAYLOAD.dump(HvmParams(tuple(tail.magic_pfns.items())), None)
        self._put(build(HVM_MAGIC_PFNS, pfns, "hvm_tail"), self._hvm_context_of(tail))
        self._emulators(tail)

    def _hvm_2007_tail(self, tail: _Tail) -> None:
        self._put(self._hvm_context_of(tail),
                  HVM_2007_VCPUS.build({"nr_vcpus": len(tail.vcpus)}))
        size = VGC_SIZE[self.structs.toolstack_bits]
        for vcpu, parts in tail.vcpus.items():
            self._put(build(HVM_2007_VCPU, {"size": size, "context": parts["VcpuContext"].context},
                            f"hvm_2007_vcpu{vcpu}"))
        self._put(tail.hvm_2007_frame)
        self._emulators(tail)

    @staticmethod
    def _hvm_context_of(tail: _Tail) -> bytes:
        """The context length and blob that both HVM tails carry."""
        if not tail.hvm_context:
            raise UnsupportedError("the HVM tail needs the guest's HVM context")
        try:
            check_hvm_context(tail.hvm_context)
        except FormatError as exc:
            raise UnsupportedError(f"legacy restorers refuse this HVM context: {exc.message} "
                                   f"(byte {exc.offset} of it)") from None
        return build(HVM_CONTEXT, HVM_CONTEXT_PAYLOAD.dump(HvmContext(tail.hvm_context), None),
                     "hvm_tail")

    def _emulators(self, tail: _Tail) -> None:
        for record in tail.emulators:
            signature = record.signature or (QEMU_XEND if self._xend() else QEMU_LIBXL)
            self._put(build(QEMU_RECORDS[signature], QEMU_PAYLOAD.dump(record, signature),
                            "qemu"))

    def _xend(self) -> bool:
        return self.options.wrap == "xend"

