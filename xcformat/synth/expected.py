"""What a correct reader must find in a synthetic image, computed without building page data."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .batches import Batch, final_version, special_pfns
from .hvmguest import hvm_context, magic_pfns, qemu_state
from .pages import page_content
from .pvguest import (
    XSAVE_RECORD,
    extended_context,
    raw_context,
    shared_info_page,
    structure_page,
    tail_context,
    xsave_record,
)
from .pfnroles import pfn_roles
from .spec import GuestSpec, hvm_data_pfns
from .stream import Chunk, emitted_params, ext_info, has_extv, items
from .variants import CHUNK_SINCE, QEMU_LIBXL, QEMU_REMUS, version_key


@dataclass(frozen=True)
class Expected:
    """The facts of one image.  Page contents come from :meth:`content` (cheap for any size)."""

    spec: GuestSpec
    guest: str
    toolstack_bits: int
    guest_bits: int | None
    p2m_size: int
    wrapper: str | None
    qemu: str | None
    variant: str
    xen: str                      #: the release(s) whose saver writes this variant
    min_xen_version: str          #: the lower bound the bytes prove (see :func:`min_xen_version`)
    vcpus: tuple[int, ...]        #: online vcpu ids (PV tails and HVM CPU records hold these)
    pages: int                    #: distinct pfns that carry data
    page_records: int             #: data-bearing batch entries, re-sends included
    batches: int
    chunks: tuple[int, ...]       #: negative ids in stream order (repeats across checkpoints)
    chunk_offsets: dict           #: chunk id → absolute file offsets of its occurrences
    checkpoints: int              #: body+tail passes (1 unless Remus)
    size: int                     #: total file size in bytes
    stream_offset: int            #: where the libxc stream starts (after any wrapper header)
    first_batch_offset: int       #: absolute file offset of the first batch
    ext_info: tuple[str, ...]     #: ext-info block ids in order ("vcpu", "extv", "xcnt")
    xsave_size: int | None        #: the "xcnt" value X
    frames: tuple[int, ...]       #: PV p2m frame-list pfns
    broken: tuple[int, ...]
    xalloc: tuple[int, ...]
    unmapped: tuple[int, ...]
    magic_pfns: tuple[int, ...] | None     #: HVM (3.1+): ioreq, bufioreq, store
    hvm_params: tuple[tuple[int, int], ...]   #: (chunk id, value) as emitted
    cr3_pfn: int | None           #: PV: the top-level page table every vcpu's cr3 names
    start_info_pfn: int | None

    @property
    def chunk_ids(self) -> frozenset[int]:
        return frozenset(self.chunks)

    def data_pfns(self) -> Iterator[int]:
        """Every pfn that carries data, in increasing order."""
        if self.guest == "hvm":
            yield from hvm_data_pfns(self.spec)
        else:
            yield from range(self.spec.pages)

    def content(self, pfn: int) -> bytes | None:
        """The final 4096 bytes of ``pfn``, or None if no data was sent for it."""
        spec = self.spec
        if spec.guest == "pv":
            if not 0 <= pfn < spec.pages:
                return None
            page = structure_page(spec, pfn_roles(spec), pfn)
            if page is not None:
                return page
        elif pfn not in hvm_data_pfns(spec):
            return None
        return page_content(spec.seed, pfn, final_version(spec, pfn))

    def page_type(self, pfn: int) -> int | None:
        """The type nibble of ``pfn``'s (last) data-bearing entry, None if it has none."""
        if self.content(pfn) is None:
            return None
        return pfn_roles(self.spec).page_type(pfn) if self.guest == "pv" else 0

    def contents(self) -> dict[int, bytes]:
        """pfn → final content for every data pfn (small images only)."""
        return {pfn: self.content(pfn) for pfn in self.data_pfns()}

    # The last checkpoint's tail items (the only ones for a non-Remus image).

    @property
    def _last(self) -> int:
        return self.checkpoints - 1

    def vcpu_context(self, vcpu: int) -> bytes:
        """PV: the canonical ``vcpu_guest_context`` the tail carries for ``vcpu``."""
        return tail_context(self.spec, pfn_roles(self.spec), vcpu, self._last)

    def extended_context(self, vcpu: int) -> bytes | None:
        """PV: the 128-byte extended context (None before 3.2)."""
        return extended_context(self.spec, vcpu) if has_extv(self.spec) else None

    def xsave(self, vcpu: int) -> bytes | None:
        """PV: the whole xsave record (mask, size, xcr0, xcr0_accum, area), None without xcnt."""
        return xsave_record(self.spec, vcpu) if self.spec.xsave else None

    def shared_info(self) -> bytes:
        """PV: the 4096-byte shared-info page."""
        return shared_info_page(self.spec, pfn_roles(self.spec), self._last)

    def ext_info_vcpu(self) -> bytes | None:
        """PV: the raw vcpu 0 context of the ext-info "vcpu" block."""
        return raw_context(self.spec, pfn_roles(self.spec)) if self.ext_info else None

    def hvm_context(self) -> bytes:
        """HVM: the hypervisor context blob."""
        return hvm_context(self.spec, self._last)

    def qemu_state(self) -> bytes | None:
        """HVM: the device model's state after its record signature (and length)."""
        return qemu_state(self.spec, self._last) if self.qemu else None


def min_xen_version(spec: GuestSpec, chunk_ids, ext_ids, specials) -> str:
    """The earliest Xen release consistent with what the image holds: the feature table of
    docs/reference/recognising.rst, the release of every chunk id, the wrappers and qemu records."""
    floors = ["3.0", *(CHUNK_SINCE[cid] for cid in chunk_ids)]
    floors += [{"vcpu": "3.0.3", "extv": "3.2", "xcnt": "4.1"}[block] for block in ext_ids]
    if specials["xalloc"]:
        floors.append("4.2")
    if specials["broken"]:
        floors.append("4.3")
    if spec.xsave_per_vcpu and any(vcpu % 2 for vcpu in spec.vcpus):
        floors.append("4.4")          # an xsave record smaller than "xcnt" says
    if -2 in chunk_ids and max(spec.vcpus) >= 64:
        floors.append("4.2")
    floors.append({QEMU_LIBXL: "4.1", QEMU_REMUS: "4.0"}.get(spec.qemu, "3.0"))
    if spec.wrapper == "xl":
        floors.append("4.5")          # xl header with the JSON-config flag
    return max(floors, key=version_key)


def expected(spec: GuestSpec) -> Expected:
    """Walk the image's items (without building pages) and say what a reader must find."""
    offset = 0
    stream_offset = None
    first_batch = None
    chunk_ids: list[int] = []
    chunk_offsets: dict[int, list[int]] = {}
    page_records = batches = 0
    for index, item in enumerate(items(spec)):
        if isinstance(item, Batch):
            if first_batch is None:
                first_batch = offset
            batches += 1
            page_records += len(item.pfns)
            offset += item.nbytes
            continue
        if isinstance(item, Chunk):
            chunk_ids.append(item.id)
            chunk_offsets.setdefault(item.id, []).append(offset)
            offset += len(item.data)
            continue
        offset += len(item)
        if index == 0:
            stream_offset = offset
    ext_ids: tuple[str, ...] = ()
    if spec.guest == "pv":
        block = ext_info(spec)
        ext_ids = ("vcpu",) if block else ()
        if has_extv(spec):
            ext_ids = ("vcpu", "extv", "xcnt") if spec.xsave else ("vcpu", "extv")
    specials = special_pfns(spec)
    roles = pfn_roles(spec) if spec.guest == "pv" else None
    return Expected(
        spec=spec, guest=spec.guest, toolstack_bits=spec.toolstack_bits,
        guest_bits=spec.guest_bits, p2m_size=spec.p2m_size, wrapper=spec.wrapper,
        qemu=spec.qemu, variant=spec.variant, xen=spec.info.xen,
        min_xen_version=min_xen_version(spec, chunk_ids, ext_ids, specials), vcpus=spec.vcpus,
        pages=spec.pages, page_records=page_records, batches=batches, chunks=tuple(chunk_ids),
        chunk_offsets={cid: tuple(at) for cid, at in chunk_offsets.items()},
        checkpoints=spec.checkpoints if spec.info.checkpointed else 1, size=offset,
        stream_offset=stream_offset, first_batch_offset=first_batch, ext_info=ext_ids,
        xsave_size=XSAVE_RECORD if spec.xsave else None,
        frames=tuple(roles.frames) if roles else (), broken=specials["broken"],
        xalloc=specials["xalloc"], unmapped=specials["unmapped"],
        magic_pfns=magic_pfns(spec) if spec.guest == "hvm" and spec.info.hvm_tail == "magic"
        else None,
        hvm_params=emitted_params(spec),
        cr3_pfn=roles.top if roles else None, start_info_pfn=roles.start_info if roles else None)


