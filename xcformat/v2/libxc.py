"""Reading the libxc layer of a migration stream (v2 and v3) into records.

One class, :class:`LibxcStream`: the image and domain headers, then records through a dispatch
table.  What makes a record unreadable is a :class:`FormatError`; what a strict reader objects to
but can read past is a :class:`Finding` (see :mod:`.rules` for the stream-level rules).  Page data
is read in bulk as memoryviews; nothing is held but the current record, the few static records
before the image header, and one run of PV vCPU records (O(vCPUs), to state the online set first).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from typing import Any

from construct import ConstructError

from ..errors import Finding, FormatError, TruncatedError, recover
from ..regions import Region
from ..records import (INVALID_TYPES, PAGE_SIZE, PAGE_TABLE_TYPES, Checkpoint, CpuPolicy,
                       GuestType, HvmContext, HvmParams, ImageHeader, Opaque, P2MFrames,
                       PageBatch, Provenance, Record, Saver, SharedInfo, Toolstack, TscInfo,
                       VcpuContext,
                       VcpuExtended, VcpuInfo, VcpuMsrs, VcpuXsave)
from ..x86 import VGC_SIZE
from ..x86.hvm_context import TYPE_CPU as HVM_CPU_RECORD, check_hvm_context, iter_hvm_records
from ..legacy import physmap
from . import pfns
from .rules import STATIC, StreamRules
from .schema import (DHDR_SIZE, IHDR_SIZE, OPTIONAL_BIT, REC_LENGTH_MAX, RHDR_SIZE, VERSIONS,
                     DomainType, RecType, domain_header, hvm_params_header, image_header, msr_entry, padding,
                     page_data_header, record_header, tsc_info, vcpu_header, x86_pv_info,
                     x86_pv_p2m_frames)

R = RecType
#: Body lengths that are fixed (anything else is unreadable).
EXACT_LENGTH: dict[int, int] = {R.END: 0, R.X86_PV_INFO: 8, R.SHARED_INFO: PAGE_SIZE, R.X86_TSC_INFO: 24,
                R.VERIFY: 0, R.CHECKPOINT: 0, R.STATIC_DATA_END: 0}
#: vcpu_guest_context size per guest width in bytes.
BASIC_SIZE = {bits // 8: size for bits, size in VGC_SIZE.items()}
PT_LEVELS = {8: 4, 4: 3}
EXTENDED_MAX = 128
#: Records that may come before the image facts are complete (they only add to them).
STATIC_RECORDS = STATIC | {R.STATIC_DATA_END}
VCPU_RECORDS = {R.X86_PV_VCPU_BASIC: VcpuContext, R.X86_PV_VCPU_EXTENDED: VcpuExtended,
                R.X86_PV_VCPU_XSAVE: VcpuXsave, R.X86_PV_VCPU_MSRS: VcpuMsrs}
#: v3 static data: the :class:`CpuPolicy` ``kind`` each policy record carries.
POLICY_RECORDS: dict[int, str] = {R.X86_CPUID_POLICY: "cpuid", R.X86_MSR_POLICY: "msr"}
#: Larger PAGE_DATA records are handed out in pieces of this many entries.
ENTRIES_PER_PIECE = 4096


class LibxcStream:
    """The libxc stream starting at the source's current offset."""

    def __init__(self, source, findings: list[Finding],
                 region: Callable[[Region], None] | None,
                 estimate_p2m_size: Callable[[int], int | None] = lambda start: None,
                 estimate_xsave_size: Callable[[int], int | None] = lambda start: None,
                 toolstack: Saver | None = None):
        self.src = source
        self.findings = findings
        self.region = region
        self.estimate_p2m_size = estimate_p2m_size
        self.estimate_xsave_size = estimate_xsave_size
        #: ``Saver.LIBXL`` when a libxl layer carries the stream (the header's provenance).
        self.toolstack = toolstack
        #: Report a record whose contents are wrong and read on at the next (its length still
        #: frames it); a validator sets it, converters never do.
        self.keep_going = False
        self.version = 0
        self.pv = False
        self.xen_version: tuple[int, int] = (0, 0)
        self.guest_bytes: int | None = None
        self.p2m_size: int | None = None
        self.records_start = 0
        self.rules: StreamRules | None = None
        self.header_out = False
        self.pending: list[Record] = []
        self.vcpu_run: list[Any] = []     # the vCPU records of one run (each has vcpu_id)
        self.counts: dict[str, int] = {}
        self.handlers: dict[int, Callable[[int, bytes, int], Iterable[Record]]] = {
            R.END: _nothing, R.STATIC_DATA_END: _nothing,
            R.X86_PV_INFO: self._pv_info, R.X86_PV_P2M_FRAMES: self._p2m_frames,
            R.X86_PV_VCPU_BASIC: self._vcpu, R.X86_PV_VCPU_EXTENDED: self._vcpu,
            R.X86_PV_VCPU_XSAVE: self._vcpu, R.X86_PV_VCPU_MSRS: self._vcpu,
            R.SHARED_INFO: lambda rtype, body, off: [SharedInfo(body)],
            R.X86_TSC_INFO: self._tsc_info, R.HVM_CONTEXT: self._hvm_context,
            R.HVM_PARAMS: self._hvm_params, R.TOOLSTACK: self._toolstack,
            R.VERIFY: self._verify, R.CHECKPOINT: self._checkpoint,
            R.CHECKPOINT_DIRTY_PFN_LIST: self._dirty_pfn_list,
            R.X86_CPUID_POLICY: self._policy, R.X86_MSR_POLICY: self._policy,
        }

    # -- helpers ----------------------------------------------------------------------------
    def _finding(self, level: str, message: str, offset: int, record: str) -> None:
        self.findings.append(Finding(level, message, offset, f"record {record}"))

    def _mark(self, offset: int, length: int, kind: str, label: str) -> None:
        if self.region is not None and length:
            self.region(Region(offset, length, kind, label))

    def _parse(self, struct, data, field: str, offset: int):
        try:
            return struct.parse(bytes(data))
        except ConstructError:
            raise self.src.error(f"not a {field}", field, offset) from None

    # -- headers ----------------------------------------------------------------------------
    def read_headers(self) -> None:
        start = self.src.offset
        ihdr = self._parse(image_header, self.src.read(IHDR_SIZE, "image header"),
                           "image header", start)
        if ihdr.version not in VERSIONS:
            raise self.src.error(f"stream version {ihdr.version}; xcformat reads 2 and 3",
                                 "image header.version", start + 12)
        if ihdr.options & 1:
            raise self.src.error("big-endian stream (options bit 0); no Xen restorer reads "
                                 "these", "image header.options", start + 16)
        if ihdr.options & ~1 or ihdr.reserved1 or ihdr.reserved2:
            self._finding("error", "reserved image header bits are not zero", start + 16,
                          "image header")
        dstart = self.src.offset
        dhdr = self._parse(domain_header, self.src.read(DHDR_SIZE, "domain header"),
                           "domain header", dstart)
        if dhdr.type not in DomainType.__members__.values():
            raise self.src.error(f"domain type {dhdr.type}: only 1 (x86 PV) and 2 (x86 HVM) "
                                 "exist", "domain header.type", dstart)
        if dhdr.page_shift != 12:
            raise self.src.error(f"page_shift {dhdr.page_shift}, only 12 exists",
                                 "domain header.page_shift", dstart + 4)
        if dhdr.reserved:
            self._finding("error", "reserved domain header field is not zero", dstart + 6,
                          "domain header")
        self._mark(start, IHDR_SIZE + DHDR_SIZE, "header", f"image header v{ihdr.version}, "
                   f"domain header {DomainType(dhdr.type).name}")
        self.version = ihdr.version
        self.pv = dhdr.type == DomainType.X86_PV
        self.xen_version = (dhdr.xen_major, dhdr.xen_minor)
        self.rules = StreamRules(self.pv, self.version, self.findings)
        self.records_start = self.src.offset

    def image_header(self) -> ImageHeader:
        if self.pv:
            guest_bits = self.guest_bytes * 8 if self.guest_bytes else None
            p2m_size = self.p2m_size
            xsave_size = self.estimate_xsave_size(self.records_start)
        else:
            guest_bits = xsave_size = None
            p2m_size = self.estimate_p2m_size(self.records_start)
        return ImageHeader(GuestType.PV if self.pv else GuestType.HVM, p2m_size,
                           guest_bits=guest_bits, xen_version=self.xen_version,
                           xsave_size=xsave_size,
                           provenance=Provenance("v2", self.version, toolstack=self.toolstack))

    # -- records ----------------------------------------------------------------------------
    def records(self, *, pause_at_checkpoint: bool) -> Generator[Record, None, str]:
        """Yield records up to END (returns ``"end"``) or, when asked, CHECKPOINT."""
        while True:
            offset, rtype, length = read_record_header(self.src, _name)
            name = _name(rtype)
            self.counts[name] = self.counts.get(name, 0) + 1
            want = EXACT_LENGTH.get(rtype)
            self.rules.see(rtype, offset)
            if rtype == R.PAGE_DATA:
                yield from self._flush()
                yield from self._page_data(length, offset)
                continue
            try:
                if want is not None and length != want:
                    raise self.src.error(f"{name} body is {length} bytes, must be {want}",
                                         "record header.length", offset + 4)
                handler = self.handlers.get(rtype) or self._unknown(rtype, offset)
            except FormatError as exc:
                recover(exc, self.findings, self.keep_going)
                handler = _nothing
            body = self._body(length, offset, name)
            try:
                out = list(handler(rtype, body, offset))
            except FormatError as exc:
                recover(exc, self.findings, self.keep_going)
                out = []
            read_padding(self.src, length, name, self.findings, self.region)
            if rtype == R.CHECKPOINT and pause_at_checkpoint:
                # The libxl layer's emulator records still belong to this snapshot: the caller
                # yields the Checkpoint after them.
                yield from self._flush()
                return "checkpoint"
            yield from self._emit(rtype, out)
            if rtype == R.END:
                self.rules.finish(offset)
                yield from self._flush()
                return "end"

    def _body(self, length: int, offset: int, name: str) -> bytes:
        body = b"".join(bytes(piece) for piece in self.src.chunks(length, f"{name} body"))
        self._mark(offset, RHDR_SIZE + length, "chunk", f"record {name} ({length} bytes)")
        return body

    def _emit(self, rtype: int, out: list[Record]) -> Iterable[Record]:
        """Hold static records until the image facts are known; group each vCPU run."""
        if not self.header_out and rtype in STATIC_RECORDS:
            self.pending.extend(out)
            return
        if rtype in VCPU_RECORDS:
            yield from self._header()
            self.vcpu_run.extend(out)
            return
        yield from self._flush()
        yield from out

    def _header(self) -> Iterable[Record]:
        if not self.header_out:
            self.header_out = True
            yield self.image_header()
            yield from self.pending
            self.pending.clear()

    def _flush(self) -> Iterable[Record]:
        yield from self._header()
        if self.vcpu_run:
            # Legacy targets need the online set before the contexts (chunk -2).
            ids = {r.vcpu_id for r in self.vcpu_run if isinstance(r, VcpuContext)} or \
                  {r.vcpu_id for r in self.vcpu_run}
            yield VcpuInfo(max(ids), frozenset(ids))
            yield from self.vcpu_run
            self.vcpu_run.clear()

    # -- record handlers --------------------------------------------------------------------
    def _pv_info(self, rtype, body: bytes, offset: int):
        info = x86_pv_info.parse(body)
        if PT_LEVELS.get(info.guest_width) != info.pt_levels:
            raise self.src.error(f"guest width {info.guest_width} with {info.pt_levels} paging "
                                 "levels: only (8, 4) and (4, 3) exist", "X86_PV_INFO",
                                 offset + RHDR_SIZE)
        if info.reserved1 or info.reserved2:
            self._finding("error", "reserved bytes are not zero", offset + RHDR_SIZE + 2,
                          "X86_PV_INFO")
        self.guest_bytes = info.guest_width
        return ()

    def _p2m_frames(self, rtype, body: bytes, offset: int):
        if len(body) < 8 or len(body) % 8:
            raise self.src.error(f"body of {len(body)} bytes: must be 8 + 8 per frame",
                                 "X86_PV_P2M_FRAMES", offset + 4)
        frames = x86_pv_p2m_frames.parse(body)
        if frames.start_pfn > frames.end_pfn:
            raise self.src.error(f"start_pfn {frames.start_pfn} > end_pfn {frames.end_pfn}",
                                 "X86_PV_P2M_FRAMES.start_pfn", offset + RHDR_SIZE)
        listed = pfns.u64s(frames.p2m_pfns)
        if self.guest_bytes:
            fpp = PAGE_SIZE // self.guest_bytes
            want = frames.end_pfn // fpp + 1 - frames.start_pfn // fpp
            if len(listed) != want:
                raise self.src.error(f"{len(listed)} frames for pfns {frames.start_pfn}.."
                                     f"{frames.end_pfn}; the C restorer requires {want}",
                                     "X86_PV_P2M_FRAMES.p2m_pfns", offset + RHDR_SIZE + 8)
        if frames.start_pfn:
            self._finding("error", "start_pfn is not 0: a partial frame list (no Xen saver "
                                   "writes one)", offset + RHDR_SIZE, "X86_PV_P2M_FRAMES")
        if listed and max(listed) > frames.end_pfn:
            self._finding("error", f"frame pfn {max(listed):#x} is beyond end_pfn "
                                   f"{frames.end_pfn:#x}", offset + RHDR_SIZE + 8,
                          "X86_PV_P2M_FRAMES")
        self.p2m_size = frames.end_pfn + 1
        return [P2MFrames(tuple(listed))]

    def _vcpu(self, rtype: int, body: bytes, offset: int):
        rtype = R(rtype)
        name = rtype.name
        if len(body) < 8:
            raise self.src.error(f"body of {len(body)} bytes, the vCPU header alone is 8", name,
                                 offset + 4)
        rec = vcpu_header.parse(body)
        if rec.reserved:
            self._finding("error", "reserved field is not zero", offset + RHDR_SIZE + 4, name)
        self.rules.vcpu(rtype, rec.vcpu_id, offset)
        blob = rec.context
        problem = self._vcpu_size_problem(rtype, len(blob))
        if problem:
            self._finding("error", problem, offset + RHDR_SIZE + 8, name)
        if not blob:
            if rtype == R.X86_PV_VCPU_BASIC:
                raise self.src.error("empty vCPU context", name, offset + RHDR_SIZE + 8)
            self._finding("warning", "no content (written by Xen 4.6-4.8, errata; ignored)",
                          offset, name)
            return ()
        if rtype == R.X86_PV_VCPU_MSRS:
            self._check_msr_flags(blob, offset + RHDR_SIZE + 8, name)
        return [VCPU_RECORDS[rtype](rec.vcpu_id, blob)]

    def _vcpu_size_problem(self, rtype: int, size: int) -> str | None:
        if rtype == R.X86_PV_VCPU_BASIC:
            want = BASIC_SIZE.get(self.guest_bytes)
            if want is not None and size != want:
                return f"context of {size} bytes; a {self.guest_bytes * 8}-bit guest's is {want}"
        elif rtype == R.X86_PV_VCPU_EXTENDED and size > EXTENDED_MAX:
            return f"extended context of {size} bytes, at most {EXTENDED_MAX}"
        elif rtype == R.X86_PV_VCPU_XSAVE and 0 < size < 16:
            return f"xsave state of {size} bytes, at least 16 (xcr0, xcr0_accum)"
        elif rtype == R.X86_PV_VCPU_MSRS and size % 16:
            return f"MSR list of {size} bytes, not a multiple of 16"
        return None

    def _check_msr_flags(self, blob: bytes, offset: int, name: str) -> None:
        if len(blob) % 16:
            return
        flags = blob[4::16], blob[5::16], blob[6::16], blob[7::16]
        if any(column.strip(b"\0") for column in flags):
            self._finding("error", "an MSR entry's reserved field is not zero", offset, name)

    def _tsc_info(self, rtype, body: bytes, offset: int):
        tsc = tsc_info.parse(body)
        if tsc.reserved:
            self._finding("error", "reserved field is not zero", offset + RHDR_SIZE + 20,
                          "X86_TSC_INFO")
        if tsc.mode > 3:
            self._finding("error", f"TSC mode {tsc.mode}, only 0-3 exist", offset + RHDR_SIZE,
                          "X86_TSC_INFO")
        return [TscInfo(tsc.mode, tsc.nsec, tsc.khz, tsc.incarnation)]

    def _hvm_context(self, rtype: int, body: bytes, offset: int):
        if not body:
            raise self.src.error("empty HVM context", "HVM_CONTEXT", offset + 4)
        base = offset + RHDR_SIZE
        try:
            check_hvm_context(body, base=base, file=self.src.name)
        except FormatError as exc:
            self._finding("error", exc.message, exc.offset, "HVM_CONTEXT")
        vcpus = set()
        try:
            for _, typecode, instance, _ in iter_hvm_records(body, base=base):
                if typecode == HVM_CPU_RECORD:
                    vcpus.add(instance)
        except FormatError:
            pass   # reported above
        # Legacy targets need the online set (chunk -2) before the context.
        out = [VcpuInfo(max(vcpus), frozenset(vcpus))] if vcpus else []
        return out + [HvmContext(body)]

    def _hvm_params(self, rtype, body: bytes, offset: int):
        if len(body) < 8:
            raise self.src.error(f"body of {len(body)} bytes, the header alone is 8",
                                 "HVM_PARAMS", offset + 4)
        params = hvm_params_header.parse(body)
        if len(body) != 8 + 16 * params.count:
            raise self.src.error(f"body of {len(body)} bytes for {params.count} parameters "
                                 f"(must be {8 + 16 * params.count})", "HVM_PARAMS.count",
                                 offset + RHDR_SIZE)
        if params.reserved:
            self._finding("error", "reserved field is not zero", offset + RHDR_SIZE + 4,
                          "HVM_PARAMS")
        if not params.count:
            self._finding("warning", "no parameters (written by Xen 4.6-4.8, errata; ignored)",
                          offset, "HVM_PARAMS")
            return ()
        values = pfns.u64s(params.params)
        return [HvmParams(tuple(zip(values[0::2], values[1::2])))]

    def _toolstack(self, rtype, body: bytes, offset: int):
        self._finding("warning", "deprecated TOOLSTACK record (v2 development only; "
                                 "verify-stream-v2 stops on it)", offset, "TOOLSTACK")
        return [physmap.from_blob(body, None) or Toolstack(body)]

    def _verify(self, rtype, body: bytes, offset: int):
        self._finding("info", "VERIFY: the pages that follow are a second copy to compare",
                      offset, "VERIFY")
        return [Opaque("v2", "verify")]

    def _checkpoint(self, rtype, body: bytes, offset: int):
        self._finding("warning", "CHECKPOINT: only Remus/COLO receivers take checkpointed "
                                 "streams; a plain restore (xl restore) refuses them", offset,
                      "CHECKPOINT")
        return [Checkpoint()]

    def _dirty_pfn_list(self, rtype, body: bytes, offset: int):
        raise self.src.error("CHECKPOINT_DIRTY_PFN_LIST belongs to the COLO back channel, "
                             "never to a stream or image", "record header.type", offset)

    def _policy(self, rtype: int, body: bytes, offset: int):
        entry = 24 if rtype == R.X86_CPUID_POLICY else msr_entry.sizeof()
        if not body or len(body) % entry:
            raise self.src.error(f"body of {len(body)} bytes: must be a non-empty multiple of "
                                 f"{entry}", _name(rtype), offset + 4)
        if rtype == R.X86_MSR_POLICY:
            self._check_msr_flags(body, offset + RHDR_SIZE, "X86_MSR_POLICY")
        return [CpuPolicy(POLICY_RECORDS[rtype], body)]

    def _unknown(self, rtype: int, offset: int):
        if not rtype & OPTIONAL_BIT:
            raise self.src.error(f"unknown mandatory record type {rtype:#x}: a restorer must "
                                 "refuse the stream", "record header.type", offset)

        def optional(_rtype: int, body: bytes, offset: int):
            self._finding("warning", f"unknown optional record {rtype:#010x} (restorers skip "
                                     "it; verify-stream-v2 rejects it)", offset,
                          f"{rtype:#010x}")
            return [Opaque("v2", f"record-{rtype:#010x}", body)]
        return optional

    # -- page data --------------------------------------------------------------------------
    def _page_data(self, length: int, offset: int) -> Iterable[PageBatch]:
        if length < 16:
            raise self.src.error(f"PAGE_DATA body of {length} bytes; at least one entry is "
                                 "needed", "PAGE_DATA.count", offset + RHDR_SIZE)
        head = page_data_header.parse(bytes(self.src.read(8, "PAGE_DATA header")))
        count = head.count
        if count == 0 or 8 + 8 * count > length:
            raise self.src.error(f"PAGE_DATA count {count} does not fit a body of {length} "
                                 "bytes", "PAGE_DATA.count", offset + RHDR_SIZE)
        if head.reserved:
            self._finding("error", "reserved field is not zero", offset + RHDR_SIZE + 4,
                          "PAGE_DATA")
        entries_at = self.src.offset
        raw = bytes(self.src.read(8 * count, "PAGE_DATA pfn array"))
        types = pfns.types_of(raw)
        invalid = INVALID_TYPES.intersection(types)
        if invalid:
            raise self.src.error(f"page type {min(invalid):#x} is invalid (5-8 do not exist)",
                                 "PAGE_DATA.pfn", entries_at)
        flags = pfns.data_flags(raw)
        ndata = flags.count(1)
        if length != 8 + 8 * count + PAGE_SIZE * ndata:
            raise self.src.error(f"PAGE_DATA body of {length} bytes; {count} entries of which "
                                 f"{ndata} carry data need {8 + 8 * count + PAGE_SIZE * ndata}",
                                 "PAGE_DATA.length", offset + 4)
        if pfns.reserved_bits_set(raw):
            self._finding("error", "reserved pfn bits 59-52 are set", entries_at, "PAGE_DATA")
        numbers = pfns.pfns_of(raw)
        self._check_pfns(numbers, types, entries_at)
        self._mark(offset, RHDR_SIZE + 8 + 8 * count, "batch-header",
                   f"PAGE_DATA ({count} entries)")
        self._mark(self.src.offset, PAGE_SIZE * ndata, "page-data", f"{ndata} pages")
        for lo in range(0, count, ENTRIES_PER_PIECE):
            hi = min(count, lo + ENTRIES_PER_PIECE)
            pages = flags.count(1, lo, hi)
            data_offset = self.src.offset
            data = self.src.page_data(PAGE_SIZE * pages, "PAGE_DATA pages") if pages else \
                memoryview(b"")
            yield PageBatch(numbers[lo:hi], types[lo:hi], data, data_offset=data_offset)

    def _check_pfns(self, numbers: tuple[int, ...], types: bytes, offset: int) -> None:
        if self.pv and self.p2m_size is not None:
            top = max(numbers)
            if top >= self.p2m_size:
                self._finding("error", f"pfn {top:#x} is beyond the p2m (end_pfn "
                                       f"{self.p2m_size - 1:#x})", offset, "PAGE_DATA")
        if not self.pv and set(types) & PAGE_TABLE_TYPES:
            self._finding("error", "page-table page types in an HVM stream", offset,
                          "PAGE_DATA")


def read_record_header(source, name_of: Callable[[int], str]) -> tuple[int, int, int]:
    """(offset, type, length) of the next record, its length checked against the limits."""
    offset = source.offset
    hdr = record_header.parse(bytes(source.read(RHDR_SIZE, "record header")))
    name = name_of(hdr.type)
    if hdr.length > REC_LENGTH_MAX:
        raise source.error(f"{name} record of {hdr.length} bytes exceeds REC_LENGTH_MAX "
                           f"({REC_LENGTH_MAX})", "record header.length", offset + 4)
    end = offset + RHDR_SIZE + hdr.length + padding(hdr.length)
    if source.size is not None and end > source.size:
        raise source.error(f"{name} record of {hdr.length} bytes runs past the end of the file "
                           f"({source.size} bytes)", "record header.length", offset + 4,
                           cls=TruncatedError)
    return offset, hdr.type, hdr.length


def read_padding(source, length: int, name: str, findings: list[Finding],
                 region: Callable[[Region], None] | None) -> None:
    """The zero bytes after a body of ``length`` bytes; non-zero ones are an error finding."""
    pad = padding(length)
    if not pad:
        return
    offset = source.offset
    if bytes(source.read(pad, f"{name} padding")).strip(b"\0"):
        findings.append(Finding("error", "record padding is not zero", offset, f"record {name}"))
    if region is not None:
        region(Region(offset, pad, "padding", f"{name} padding"))


def _nothing(rtype: int, body: bytes, offset: int):
    return ()


def _name(rtype: int) -> str:
    try:
        return R(rtype).name
    except ValueError:
        return f"{rtype:#010x}"
