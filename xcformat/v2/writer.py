"""Writing records as a migration stream: v3 (what current Xen restores) or v2, optionally inside a
libxl layer and an xl save-file header, optionally with every page 4096-aligned in the file.

Layering (``WriteOptions.wrap``): ``"libxc"`` a bare libxc stream; ``"libxl"`` a libxl stream
around it; ``"xl"`` an xl save-file header around that; None keeps what the input had (an xl
wrapper stays xl, a libxl layer stays libxl, anything else is bare).  The version is
``WriteOptions.version`` when given (2 for Xen 4.6-4.13 hosts, which restore nothing else),
else 2 for a version-2 input stream and 3 for anything else (what Xen 4.14+ writes).

From legacy input this does what ``convert-legacy-stream`` refuses or gets wrong: PV streams
without extended info (the guest width comes from the records), no -2 chunk (vCPUs come from the
contexts themselves), every qemu record variant, xend wrappers (only with ``--drop config``: the
S-expression has no place in an xl header), per-vCPU xsave sizes; HVM value chunks and tail magic
pfns become one HVM_PARAMS record; the libxl physmap becomes EMULATOR_XENSTORE_DATA.  What v2 cannot
carry raises UnsupportedError naming it, unless ``WriteOptions.drop`` names it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..codec import head
from ..drops import NO_XL_CONFIG, kind_of, refuse_or_drop, what_of
from ..errors import FormatError, UnsupportedError
from ..formats import WriteOptions, default_version
from ..kinds import KIND_OF
from ..records import (PAGE_SIZE, Checkpoint, CpuPolicy, EmulatorContext, EmulatorXenstore, End,
                       GuestType, HvmContext, HvmParams, ImageHeader, LastCheckpoint, Opaque,
                       NO_P2M_FRAMES, P2MFrames, PageBatch, Physmap, PV, PvExtInfo, Record,
                       Saver, SharedInfo, Toolstack, TscInfo, UnmappedPfns, VcpuContext,
                       VcpuExtended, VcpuInfo, VcpuMsrs, VcpuXsave, Wrapper)
from . import libxc, pfns, reader
from .batching import AlignedBatcher, PlainBatcher
from .libxc import BASIC_SIZE, PT_LEVELS
from .physmap import to_keys
from .rules import STATIC
from .schema import (LIBXL_OPT_LEGACY, LIBXL_VERSION, XL_BYTEORDER, XL_FLAG_STREAMV2,
                     XL_HEADER_SIZE, VERSIONS, DomainType, LibxlRecType, RecType, domain_header,
                     emulator_header, hvm_params_header, image_header, libxl_header, padding,
                     record_header, tsc_info, vcpu_header, x86_pv_info, x86_pv_p2m_frames,
                     xl_config, xl_header)

#: The fixed heads of the record bodies whose variable part goes out as it is (not copied).
VCPU_HEAD = head(vcpu_header, "reserved")
HVM_PARAMS_HEAD = head(hvm_params_header, "reserved")
P2M_FRAMES_HEAD = head(x86_pv_p2m_frames, "end_pfn")
EMULATOR_HEAD = head(emulator_header, "index")

R = RecType
#: What the domain header says when the source stated no Xen version: written by a converter.
CONVERTER_VERSION = (0, 1)
#: The record type of each PV vCPU record and of each emulator record (the readers' tables,
#: inverted).
VCPU_RECORDS = {cls: rtype for rtype, cls in libxc.VCPU_RECORDS.items()}
EMULATOR_RECORDS = {cls: rtype for rtype, cls in reader.EMULATOR_RECORDS.items()}
#: The record type of each CPU policy kind.
POLICY_RECORDS = {kind: rtype for rtype, kind in libxc.POLICY_RECORDS.items()}


class V2Writer:
    def __init__(self, sink, options: WriteOptions):
        self.sink = sink
        self.options = options
        self.wrapper: Wrapper | None = None
        self.header: ImageHeader | None = None
        self.wrap = "libxc"
        self.version = 3
        self.static_open = True
        self.params: dict[int, int] = {}
        #: the current snapshot's state, and what writes each, at the end
        self.state: list[tuple[Callable[[Any], None], Record]] = []
        self.emulator: list[tuple[int, int, int, bytes]] = []
        self.snapshots = 1
        self.batcher: AlignedBatcher | PlainBatcher | None = None
        self.frames_sent = False
        #: What v2 does with each record kind it carries.  The guest's state is held until its
        #: snapshot is complete (``_held``) and written then by the function given.
        self.handlers: dict[type[Record], Callable[[Any], None]] = {
            Wrapper: self._wrapper, ImageHeader: self._image_header, PvExtInfo: _ignore,
            P2MFrames: self._p2m_frames, PageBatch: self._pages, VcpuInfo: _ignore,
            # v2 has no place for the vCPU registers of the 2007 HVM tail: HVM_CONTEXT has them
            VcpuContext: self._held(self._vcpu, only=PV), VcpuExtended: self._held(self._vcpu),
            VcpuXsave: self._held(self._vcpu), VcpuMsrs: self._held(self._vcpu),
            SharedInfo: self._held(self._shared_info), TscInfo: self._held(self._tsc),
            HvmParams: self._hvm_params, HvmContext: self._held(self._hvm_context),
            Toolstack: self._toolstack, Physmap: self._physmap, EmulatorContext: self._emulator,
            EmulatorXenstore: self._emulator, UnmappedPfns: self._unmapped,
            CpuPolicy: self._policy, Opaque: self._opaque, Checkpoint: self._checkpoint,
            End: self._end, LastCheckpoint: _ignore,
        }

    def write(self, records: Iterable[Record]) -> None:
        for record in records:
            if self.header is None and not isinstance(record, (Wrapper, ImageHeader)):
                raise FormatError(f"{type(record).__name__} before the image header")
            handler = self.handlers.get(type(record))
            if handler is None:
                self._drop(kind_of(record), what_of(record))
            else:
                handler(record)

    # -- low level --------------------------------------------------------------------------
    def _record(self, rtype: int, parts: list) -> None:
        """One record: header, body parts as given (pages are not copied), zero padding."""
        length = sum(len(p) for p in parts)
        self.sink.write(record_header.build({"type": rtype, "length": length}))
        for part in parts:
            if len(part):
                self.sink.write(part)
        if padding(length):
            self.sink.write(bytes(padding(length)))

    def _libxc_record(self, rtype: int, parts: list) -> None:
        """A libxc record after what must precede it: held pages first."""
        self.batcher.flush()
        self._before_libxc(rtype)
        self._record(rtype, parts)

    def _before_libxc(self, rtype: int) -> None:
        """End the static data before guest state (v3)."""
        if rtype not in STATIC:
            self._close_static()

    def _close_static(self) -> None:
        if self.static_open:
            self.static_open = False
            if self.version >= 3:
                self._record(R.STATIC_DATA_END, [])

    def _drop(self, kind: str, what: str) -> None:
        refuse_or_drop(self.options, "v2", kind, what)

    @property
    def pv(self) -> bool:
        return self.header.guest == GuestType.PV

    def _need(self, record: Record, only: frozenset[GuestType] | None = None) -> None:
        """Refuse ``record`` in an image of a guest type it does not belong to (its kind's
        guests, or the narrower ``only`` that v2 carries it for)."""
        kind = KIND_OF[type(record)]
        guests = only or kind.guests
        if self.header.guest not in guests:
            raise UnsupportedError(f"{kind.noun} in {'a PV' if self.pv else 'an HVM'} image: "
                                   f"v2 carries it only for "
                                   f"{'PV' if GuestType.PV in guests else 'HVM'} guests")

    # -- headers ----------------------------------------------------------------------------
    def _wrapper(self, record: Wrapper) -> None:
        self.wrapper = record

    def _image_header(self, header: ImageHeader) -> None:
        if self.header is not None:
            raise FormatError("second image header")
        self.header = header
        # Xen 4.6-4.13 restore version 2 only; 4.14+ take both (xg_sr_restore.c).
        source = header.provenance
        self.version = self.options.version or default_version(
            VERSIONS, "v2", source.format, source.version)
        self.wrap = self._choose_wrap(header)
        if self.options.align:
            self.batcher = AlignedBatcher(self._record, lambda: self.sink.offset)
        else:
            self.batcher = PlainBatcher(self._record)
        if self.wrap == "xl":
            self._xl_header()
        if self.wrap in ("libxl", "xl"):
            options = LIBXL_OPT_LEGACY if self._xen_version()[0] == 0 else 0
            self.sink.write(libxl_header.build({"version": LIBXL_VERSION, "options": options}))
            self._record(LibxlRecType.LIBXC_CONTEXT, [])
        self.sink.write(image_header.build({"version": self.version, "options": 0,
                                            "reserved1": 0, "reserved2": 0}))
        domain = DomainType.X86_PV if self.pv else DomainType.X86_HVM
        major, minor = self._xen_version()
        self.sink.write(domain_header.build({"type": domain, "page_shift": 12, "reserved": 0,
                                             "xen_major": major, "xen_minor": minor}))
        if self.pv:
            width = self._guest_bytes()
            self._record(R.X86_PV_INFO, [x86_pv_info.build({
                "guest_width": width, "pt_levels": PT_LEVELS[width], "reserved1": 0,
                "reserved2": 0})])

    def _choose_wrap(self, header: ImageHeader) -> str:
        wrapper = self.wrapper
        wrap = self.options.wrap
        if wrap is None:
            wrap = "xl" if wrapper is not None and wrapper.kind == "xl" else \
                "libxl" if header.provenance.toolstack is Saver.LIBXL else "libxc"
        if wrapper is not None and (wrap != "xl" or wrapper.kind != "xl"):
            self._drop("config", f"the {wrapper.kind} wrapper's domain configuration")
        return wrap

    def _xl_header(self) -> None:
        wrapper = self.wrapper if self.wrapper is not None and self.wrapper.kind == "xl" else None
        fields = wrapper.fields if wrapper else {}
        config = wrapper.config if wrapper else b""
        tail = fields.get("optional_tail", b"")
        if wrapper is None:
            self.options.say(NO_XL_CONFIG)
        framed = fields.get("config_framed", bool(config or tail))
        optional = xl_config.build({"config_length": len(config), "config": config,
                                    "rest": tail}) if framed else b""
        if self.options.align:
            # xl ignores optional data after the config: pad so the libxc stream is 8-aligned.
            optional += bytes(-(XL_HEADER_SIZE + len(optional)) % 8)
        flags = fields.get("mandatory_flags", 0) | XL_FLAG_STREAMV2
        self.sink.write(xl_header.build({
            "byteorder": fields.get("byteorder", XL_BYTEORDER), "mandatory_flags": flags,
            "optional_flags": fields.get("optional_flags", 0),
            "optional_data_len": len(optional)}))
        self.sink.write(optional)

    def _xen_version(self) -> tuple[int, int]:
        version = self.header.xen_version
        # The domain header holds u32 major and minor; a version that does not fit (a dump's
        # note holds u64s) is no Xen's, so the stream says a converter wrote it.
        if not version or not all(0 <= part < 1 << 32 for part in version):
            return CONVERTER_VERSION
        return version

    def _guest_bytes(self) -> int:
        bits = self.header.guest_bits
        if bits not in (32, 64):
            raise UnsupportedError(f"PV guest width {bits}: v2 carries 32-bit PAE and 64-bit "
                                   "PV guests (give --input-width for a legacy image without "
                                   "extended info)")
        return bits // 8

    # -- records ----------------------------------------------------------------------------
    def _p2m_frames(self, record: P2MFrames) -> None:
        self._need(record)
        size = self.header.p2m_size
        if not size:
            raise UnsupportedError("a PV image without p2m_size: X86_PV_P2M_FRAMES needs it")
        fpp = PAGE_SIZE // self._guest_bytes()
        want = (size - 1) // fpp + 1
        if len(record.frames) != want:
            raise FormatError(f"{len(record.frames)} p2m frames for p2m_size {size}; "
                              f"{want} expected")
        self.frames_sent = True
        self._libxc_record(R.X86_PV_P2M_FRAMES, [
            P2M_FRAMES_HEAD.build({"start_pfn": 0, "end_pfn": size - 1}),
            pfns.entries(record.frames, bytes(len(record.frames)))])

    def _pages(self, batch: PageBatch) -> None:
        if not batch.pfns:
            return
        if self.pv and not self.frames_sent:
            raise UnsupportedError(NO_P2M_FRAMES)
        self._before_libxc(R.PAGE_DATA)
        self.batcher.add(batch.pfns, batch.types, batch.data)

    def _vcpu(self, record) -> None:
        rtype = VCPU_RECORDS[type(record)]
        blob = record.context if isinstance(record, VcpuContext) else record.data
        if rtype == R.X86_PV_VCPU_BASIC and len(blob) != BASIC_SIZE[self._guest_bytes()]:
            raise FormatError(f"vCPU {record.vcpu_id} context of {len(blob)} bytes for a "
                              f"{self.header.guest_bits}-bit guest")
        if not blob:
            return   # empty data records are left out (a restorer refuses PAGE_DATA with no pfn)
        self._libxc_record(rtype, [VCPU_HEAD.build({"vcpu_id": record.vcpu_id, "reserved": 0}),
                                   blob])

    def _shared_info(self, record: SharedInfo) -> None:
        if len(record.page) != PAGE_SIZE:
            raise FormatError(f"shared-info page of {len(record.page)} bytes")
        self._libxc_record(R.SHARED_INFO, [record.page])

    def _tsc(self, record: TscInfo) -> None:
        self._libxc_record(R.X86_TSC_INFO, [tsc_info.build({
            "mode": record.mode, "khz": record.khz, "nsec": record.nsec,
            "incarnation": record.incarnation, "reserved": 0})])

    def _held(self, write: Callable[[Any], None],
              only: frozenset[GuestType] | None = None) -> Callable[[Record], None]:
        """A handler for vCPU, shared-info, TSC and HVM context state: the record is kept until
        the snapshot is complete, then ``write`` writes it."""
        def hold(record: Record) -> None:
            self._need(record, only)
            if isinstance(record, TscInfo):
                # A legacy stream may repeat its -7 chunk; its restorer applies each in turn, so
                # the last one holds.  v2 takes one per snapshot (a second is an error before
                # CHECKPOINT).
                self.state = [(w, r) for w, r in self.state if not isinstance(r, TscInfo)]
            self.state.append((write, record))
        return hold

    def _hvm_params(self, record: HvmParams) -> None:
        self._need(record)
        self.params.update(record.params)

    def _flush_params(self) -> None:
        if self.params:
            values = [v for pair in self.params.items() for v in pair]
            self._libxc_record(R.HVM_PARAMS, [
                HVM_PARAMS_HEAD.build({"count": len(self.params), "reserved": 0}),
                pfns.entries(values, bytes(len(values)))])
            self.params = {}

    def _hvm_context(self, record: HvmContext) -> None:
        if not record.blob:
            raise FormatError("empty HVM context")
        self._flush_params()
        self._libxc_record(R.HVM_CONTEXT, [record.blob])

    def _toolstack(self, record: Toolstack) -> None:
        self._drop("toolstack", "toolstack data that is not a libxl physmap (v2 carries only "
                                "the physmap, as EMULATOR_XENSTORE_DATA)")

    def _physmap(self, record: Physmap) -> None:
        if not record.entries:
            return   # libxl's empty physmap {1, 0}: nothing to carry
        if self.pv:
            self._drop("toolstack", "a PV toolstack physmap (libxl rejects emulator records "
                                    "for PV guests)")
        elif self.wrap == "libxc":
            self._drop("toolstack", "the toolstack physmap (it becomes EMULATOR_XENSTORE_DATA, "
                                    "which needs --wrap libxl or xl)")
        else:
            self.emulator.append((LibxlRecType.EMULATOR_XENSTORE_DATA, record.emulator_id,
                                  record.index, to_keys(record)))

    def _emulator(self, record) -> None:
        rtype = EMULATOR_RECORDS[type(record)]
        what = KIND_OF[type(record)].noun
        if self.pv:
            raise UnsupportedError(f"{what} in a PV image: libxl refuses emulator records "
                                   "for PV guests")
        if self.wrap == "libxc":
            self._drop("emulator", f"{what} (a bare libxc stream has no place for it; use "
                                   "--wrap libxl or xl)")
            return
        self.emulator.append((rtype, record.emulator_id, record.index, record.data))

    def _write_emulator(self, item) -> None:
        rtype, emulator_id, index, data = item
        self._record(rtype, [EMULATOR_HEAD.build({"emulator_id": emulator_id, "index": index}),
                             data])

    def _flush_emulator(self) -> None:
        # libxl order: xenstore keys before the device model's state.
        for item in sorted(self.emulator, key=lambda i: i[0]):
            self._write_emulator(item)
        self.emulator = []

    def _unmapped(self, record: UnmappedPfns) -> None:
        if record.pfns:
            self._drop("unmapped-pfns", f"the list of {len(record.pfns)} pfns that were not "
                                        "in the p2m at the end of the save")

    def _policy(self, record: CpuPolicy) -> None:
        if self.version < 3:
            self._drop("cpu-policy", f"the {record.kind} policy (a v3 record; version 2 streams "
                                     "have none)")
            return
        if not self.static_open:
            raise FormatError("a CPU policy after the guest's memory: v3 sends static data "
                              "first")
        rtype = POLICY_RECORDS.get(record.kind)
        if rtype is None:
            raise UnsupportedError(f"a CPU policy of kind {record.kind!r}: v3 carries "
                                   f"{' and '.join(POLICY_RECORDS)} policies")
        self._libxc_record(rtype, [record.data])

    def _opaque(self, record: Opaque) -> None:
        if record.origin == "v2" and record.kind == "verify":
            self._libxc_record(R.VERIFY, [])
        elif record.origin == "v2" and record.kind.startswith("record-"):
            self._libxc_record(int(record.kind[len("record-"):], 16), [record.data])
        else:
            self._drop(kind_of(record), what_of(record))

    def _checkpoint(self, record: Checkpoint) -> None:
        """Flatten: a plain restore refuses CHECKPOINT records (xg_sr_restore.c
        handle_checkpoint), and restoring a checkpointed legacy file loads every checkpoint's
        pages and the last one's state; so keep all pages and only the latest state."""
        self.snapshots += 1
        self.state.clear()
        self.params.clear()
        self.emulator.clear()

    def _end(self, record: End) -> None:
        self.batcher.flush()
        if self.snapshots > 1:
            self.options.say(f"flattened {self.snapshots} checkpoints into one snapshot: the "
                             "pages of all, the state of the last (what restoring it loads)")
        for write, held in self.state:
            write(held)
        self._flush_params()
        self._libxc_record(R.END, [])
        if self.wrap != "libxc":
            self._flush_emulator()
            self._record(LibxlRecType.END, [])


def _ignore(record: Record) -> None:
    """Facts v2 states elsewhere or not at all: the legacy ext-info block (X86_PV_INFO), the
    online vCPU set (the vCPU records themselves), legacy chunk -9 (no checkpoint follows)."""
