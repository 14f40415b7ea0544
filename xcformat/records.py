"""Format-neutral records: what every reader yields and every writer consumes.

A conversion is ``writer.write(reader.records())``; no format converts to another directly.
Records appear in the order their bytes appear in the source, so a writer of the same format can
reproduce the source exactly, and a writer of another format can regroup them (v2 gathers HVM
parameters into one record, legacy splits them into chunks and tail fields).

Each record class is registered with its :class:`~xcformat.kinds.RecordKind` (``@kind``): what
every format needs to know about it, in one place.

Memory rule: a :class:`PageBatch`'s ``data`` is a view into the reader's buffer, valid only until
the next record is requested.  Writers consume it at once; anything that keeps pages copies them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from . import kinds
from .kinds import kind

PAGE_SIZE = 4096
PAGE_SHIFT = 12


class GuestType(str, enum.Enum):
    PV = "pv"
    HVM = "hvm"


#: The guest types a record kind belongs to (:attr:`xcformat.kinds.RecordKind.guests`).
PV = frozenset({GuestType.PV})
HVM = frozenset({GuestType.HVM})
BOTH = PV | HVM


class PageType(enum.IntEnum):
    """The 4-bit page type (``XEN_DOMCTL_PFINFO_*`` >> 28), shared by every save format."""

    NOTAB = 0x0
    L1TAB = 0x1
    L2TAB = 0x2
    L3TAB = 0x3
    L4TAB = 0x4
    L1TAB_PINNED = 0x9
    L2TAB_PINNED = 0xA
    L3TAB_PINNED = 0xB
    L4TAB_PINNED = 0xC
    BROKEN = 0xD
    XALLOC = 0xE
    XTAB = 0xF


#: Page types that are followed by 4096 bytes of data.
DATA_TYPES = frozenset({0x0, 0x1, 0x2, 0x3, 0x4, 0x9, 0xA, 0xB, 0xC})
#: Page types that carry no data; their entries still name a pfn (a legacy XTAB entry, which
#: names none, is one of ``PageBatch.fillers`` instead).
NO_DATA_TYPES = frozenset({0xD, 0xE, 0xF})
#: The type values 5-8 that no Xen defines: every reader refuses them.
INVALID_TYPES = frozenset({0x5, 0x6, 0x7, 0x8})
#: Page-table types (unpinned and pinned): PV only.
PAGE_TABLE_TYPES = frozenset({0x1, 0x2, 0x3, 0x4, 0x9, 0xA, 0xB, 0xC})
_DATA_TYPE_BYTES = bytes(sorted(DATA_TYPES))


def data_page_count(types: bytes) -> int:
    """How many of ``types`` carry a page of data (one C-level pass, no per-entry loop)."""
    return len(types) - len(types.translate(None, _DATA_TYPE_BYTES))


class Record:
    """Base class of every record (for isinstance checks and dispatch tables)."""

    __slots__ = ()
    if TYPE_CHECKING:   # every record is a dataclass (for dataclasses.fields)
        __dataclass_fields__: ClassVar[dict[str, Any]]


@kind("a file wrapper", BOTH, "aligned core legacy v2", drop=kinds.CONFIG, region="wrapper")
@dataclass(frozen=True, slots=True)
class Wrapper(Record):
    """A file wrapper around the save stream: xl save-file header or xend record header.

    ``kind`` is ``"xl"`` or ``"xend"``; ``config`` the domain configuration bytes exactly as
    stored; ``fields`` holds the kind's other header fields (xl: ``mandatory_flags``,
    ``optional_flags``, ``byteorder``; and, for exact rewrites, ``config_framed`` (False when
    the optional data is empty) and ``optional_tail``, optional data after the config) so the
    wrapper can be rewritten byte for byte.
    """

    kind: str
    config: bytes
    fields: dict[str, Any] = field(default_factory=dict)


class Saver(str, enum.Enum):
    """The toolstack that wrote an image, where its bytes say so."""

    XEND = "xend"
    LIBXL = "libxl"


#: Core dump layouts, named by themselves in a provenance's ``label`` (no format prefix).
CORE_LAYOUTS = ("elf32", "elf64", "format-a")


@dataclass(frozen=True, slots=True)
class Provenance:
    """Which format, and which layout of it, the records were read from.

    ``format`` is the source's format name (``"legacy"``, ``"v2"``, ``"core"``; a reader that
    passes records on, as aligned does, passes its source's provenance on); ``version`` the
    format's own version where it has several (v2: 2 or 3); ``layout`` the layout within the
    format (legacy: ``"pv"`` or ``"hvm"``; core: ``"elf32"``, ``"elf64"``, ``"format-a"``);
    ``toolstack`` the toolstack that wrote the stream, where the bytes say (a v2 stream inside
    a libxl layer).  Writers of the source's format use it to reproduce the source; writers of
    other formats need nothing from it.  ``label`` is its one-word text form.
    """

    format: str
    version: int | None = None
    layout: str = ""
    toolstack: Saver | None = None

    @property
    def label(self) -> str:
        """``v3+libxl``, ``legacy-pv``, ``elf64``...: format (v2: ``v`` and its version),
        ``-layout``, ``+toolstack`` (a core dump's layout names itself)."""
        if self.format == "core":
            text = self.layout
        else:
            text = f"v{self.version}" if self.format == "v2" and self.version else self.format
            text += f"-{self.layout}" if self.layout else ""
        return text + (f"+{self.toolstack.value}" if self.toolstack else "")

    @classmethod
    def from_label(cls, label: str) -> Provenance:
        """The provenance whose ``label`` is ``label`` (any text has one)."""
        text, plus, suffix = label.rpartition("+")
        toolstack = next((saver for saver in Saver if saver.value == suffix), None) \
            if plus else None
        if toolstack is None:
            text = label
        if text in CORE_LAYOUTS:
            return cls("core", layout=text, toolstack=toolstack)
        head, _, layout = text.partition("-")
        if head[:1] == "v" and head[1:].isdigit():
            return cls("v2", int(head[1:]), layout, toolstack)
        return cls(head, None, layout, toolstack)


#: The provenance of records that no reader produced (made by hand, or by a model).
UNKNOWN_SOURCE = Provenance("")


@kind("an image header", BOTH, "aligned core legacy v2", restore=True, region="header")
@dataclass(frozen=True, slots=True)
class ImageHeader(Record):
    """What the image says about the guest as a whole.

    ``p2m_size`` is the highest pfn + 1 (not the number of pages sent); None where the source
    format does not record it.  ``guest_bits`` is 32 or 64 for PV guests, None for HVM.
    ``toolstack_bits`` is the legacy writer's ``unsigned long`` width where the source has one.
    ``xen_version`` is ``(major, minor)`` of the saving Xen where the format states it.
    ``provenance`` says which format and layout the records come from (:class:`Provenance`).
    ``xsave_size`` (PV) is the length of each vCPU's :class:`VcpuXsave` ``data``, for writers that
    must state it before the pages (legacy's "xcnt"); the v2 reader finds it ahead on a seekable
    source.  None: no xsave records, or the reader cannot tell (or need not: legacy keeps its
    "xcnt" in :class:`PvExtInfo`).
    """

    guest: GuestType
    p2m_size: int | None
    guest_bits: int | None = None
    toolstack_bits: int | None = None
    xen_version: tuple[int, int] | None = None
    provenance: Provenance = UNKNOWN_SOURCE
    xsave_size: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.provenance, Provenance):   # the text ``variant`` it replaced
            raise TypeError(f"ImageHeader.provenance must be a Provenance, not "
                            f"{type(self.provenance).__name__} (Provenance.from_label reads "
                            "the old variant text)")


@kind("a PV extended-info block", PV, "aligned legacy v2", drop=kinds.EXT_INFO, region="ext-info")
@dataclass(frozen=True, slots=True)
class PvExtInfo(Record):
    """The legacy PV extended-info block (``vcpu``, ``extv``, ``xcnt``), kept for exact rewrites.

    ``blocks`` is the ordered ``(id, payload)`` list as stored.  Other formats have no place for it.
    """

    blocks: tuple[tuple[bytes, bytes], ...]


#: Why a PV image without :class:`P2MFrames` cannot become a save stream.
NO_P2M_FRAMES = ("a PV guest's save stream needs its p2m frame list (the pfns of the pages "
                 "that hold the guest's own p2m table, which a restore rewrites), and this "
                 "image has none (a core dump does not record it)")


@kind("a p2m frame list", PV, "aligned core legacy v2", restore=True, region="p2m-frames")
@dataclass(frozen=True, slots=True)
class P2MFrames(Record):
    """PV: the pfns of the guest pages that hold the guest's own p2m table, in order."""

    frames: tuple[int, ...]


@kind("a page batch", BOTH, "aligned core legacy v2", restore=True)
@dataclass(frozen=True, slots=True)
class PageBatch(Record):
    """A run of pages.

    ``pfns[i]`` and ``types[i]`` describe entry i; ``data`` holds 4096 bytes for each entry whose
    type is in :data:`DATA_TYPES`, in entry order.  ``data`` is only valid until the next record.
    ``gmfns[i]`` is the machine frame that backed entry i, where the source records one (PV core
    dumps' ``.xen_p2m``); None elsewhere.  ``data_offset`` is the input file offset of
    ``data[0]`` where ``data`` is one contiguous run of the file (a writer that reorders pages
    reads them back from there instead of keeping a copy); None where it is not (pages made up
    by the reader, or read from a stream).  It is not content: records compare equal without it.
    ``fillers`` are entries that name no page, as ``(index in the stored batch, pfn bits)``:
    a legacy batch's XTAB entries, which every legacy restorer skips and whose pfn bits are
    whatever the saver left there.  They are not in ``pfns``; a writer of the source format
    puts them back, the others have nothing to do with them.
    """

    pfns: tuple[int, ...]
    types: bytes
    data: memoryview
    gmfns: tuple[int, ...] | None = None
    data_offset: int | None = field(default=None, compare=False)
    fillers: tuple[tuple[int, int], ...] = ()

    @property
    def data_pages(self) -> int:
        return len(self.data) // PAGE_SIZE


@kind("the online vCPU set", BOTH, "aligned core legacy v2")
@dataclass(frozen=True, slots=True)
class VcpuInfo(Record):
    """The set of online vCPUs (legacy chunk -2)."""

    max_vcpu_id: int
    online: frozenset[int]


@kind("a vCPU context record", BOTH, "aligned core legacy v2", drop=kinds.VCPU_CONTEXT,
      restore=True, region="tail")
@dataclass(frozen=True, slots=True)
class VcpuContext(Record):
    """One vCPU's ``vcpu_guest_context`` in guest layout, pfns canonicalised: PV, and the HVM
    guests of the 2007 legacy tail, which kept it beside the HVM context."""

    vcpu_id: int
    context: bytes


@kind("a vCPU extended context", PV, "aligned legacy v2", drop=kinds.VCPU_EXTENDED, region="tail")
@dataclass(frozen=True, slots=True)
class VcpuExtended(Record):
    """PV: one vCPU's extended context (legacy: the 128-byte domctl slot)."""

    vcpu_id: int
    data: bytes


@kind("a vCPU xsave record", PV, "aligned legacy v2", drop=kinds.XSAVE, region="tail")
@dataclass(frozen=True, slots=True)
class VcpuXsave(Record):
    """PV: one vCPU's xsave state: ``data`` = u64 xcr0, u64 xcr0_accum, XSAVE area.

    ``mask`` is the host ``xfeature_mask`` the legacy stream carries; None where unknown.
    """

    vcpu_id: int
    data: bytes
    mask: int | None = None


@kind("a vCPU MSR list", PV, "aligned v2", drop=kinds.MSRS, region="tail")
@dataclass(frozen=True, slots=True)
class VcpuMsrs(Record):
    """PV: one vCPU's MSR list (v2 only)."""

    vcpu_id: int
    data: bytes


@kind("a shared-info page", PV, "aligned core legacy v2", drop=kinds.SHARED_INFO, restore=True,
      region="tail")
@dataclass(frozen=True, slots=True)
class SharedInfo(Record):
    """PV: the guest's 4096-byte shared-info page."""

    page: bytes


@kind("a TSC record", BOTH, "aligned legacy v2", drop=kinds.TSC)
@dataclass(frozen=True, slots=True)
class TscInfo(Record):
    mode: int
    nsec: int
    khz: int
    incarnation: int


@kind("HVM parameters", HVM, "aligned legacy v2", drop=kinds.HVM_PARAMS, restore=True)
@dataclass(frozen=True, slots=True)
class HvmParams(Record):
    """HVM parameters as ``(index, value)`` pairs in stream order (HVM_PARAM_* numbers)."""

    params: tuple[tuple[int, int], ...]


@kind("an HVM context", HVM, "aligned core legacy v2", drop=kinds.HVM_CONTEXT, restore=True,
      region="tail")
@dataclass(frozen=True, slots=True)
class HvmContext(Record):
    """HVM: the hypervisor's save-record blob (``XEN_DOMCTL_gethvmcontext``)."""

    blob: bytes


@kind("toolstack data", BOTH, "aligned legacy v2", drop=kinds.TOOLSTACK)
@dataclass(frozen=True, slots=True)
class Toolstack(Record):
    """Toolstack data that is not a libxl physmap (legacy chunk -18, v2 TOOLSTACK).  Opaque."""

    data: bytes


@dataclass(frozen=True, slots=True)
class PhysmapEntry:
    """One guest-physical range the device model maps (VRAM, an option ROM).

    ``padding`` is what a 64-bit libxl left in the 4 bytes of struct padding after the name in
    its toolstack blob (uninitialised memory), kept so that blob is rewritten exactly; empty
    elsewhere, and not content.
    """

    phys_offset: int
    start_addr: int
    size: int
    name: bytes
    padding: bytes = field(default=b"", compare=False)


@kind("a toolstack physmap", BOTH, "aligned legacy v2", drop=kinds.TOOLSTACK)
@dataclass(frozen=True, slots=True)
class Physmap(Record):
    """libxl's physmap: what the device model maps where, which a restoring libxl hands back.

    Legacy streams carry it as libxl's toolstack blob (chunk -18) laid out for the toolstack's
    width, v2 streams as ``physmap/...`` keys of EMULATOR_XENSTORE_DATA; each writer encodes
    it its own way.  ``emulator_id`` and ``index`` are the libxl emulator record's, where the
    source is one (0 elsewhere).  ``blob_bits`` is the width of the toolstack blob it was read
    from (None: read from xenstore keys), so a format that stores either keeps the source's.
    """

    entries: tuple[PhysmapEntry, ...]
    emulator_id: int = 0
    index: int = 0
    blob_bits: int | None = field(default=None, compare=False)


@kind("the device model's state", HVM, "aligned legacy v2", drop=kinds.EMULATOR, region="tail")
@dataclass(frozen=True, slots=True)
class EmulatorContext(Record):
    """The device model's (qemu's) saved state.

    ``signature`` is the legacy 21-byte record signature where there was one.
    """

    data: bytes
    emulator_id: int = 0
    index: int = 0
    signature: bytes | None = None


@kind("the device model's xenstore keys", HVM, "aligned legacy v2", drop=kinds.EMULATOR,
      region="tail")
@dataclass(frozen=True, slots=True)
class EmulatorXenstore(Record):
    """libxl: the device model's xenstore keys, packed NUL-terminated key/value strings."""

    data: bytes
    emulator_id: int = 0
    index: int = 0


@kind("a list of unmapped pfns", PV, "aligned core legacy v2", drop=kinds.UNMAPPED_PFNS,
      region="tail")
@dataclass(frozen=True, slots=True)
class UnmappedPfns(Record):
    """PV: pfns that were not in the p2m when the save ended (legacy tail)."""

    pfns: tuple[int, ...]


@kind("a CPU policy", BOTH, "aligned v2", drop=kinds.CPU_POLICY)
@dataclass(frozen=True, slots=True)
class CpuPolicy(Record):
    """v3 static data: ``kind`` is ``"cpuid"`` or ``"msr"``; ``data`` the record body."""

    kind: str
    data: bytes


@kind("an item only one format knows", BOTH, "aligned core legacy v2",
      # tmem's two legacy chunks belong together, and both verify markers
      item_drops={"tmem": kinds.TMEM, "tmem-extra": kinds.TMEM, "verify-mode": kinds.VERIFY,
                  "verify": kinds.VERIFY, "hvm-2007-tail": kinds.HVM_2007_TAIL})
@dataclass(frozen=True, slots=True)
class Opaque(Record):
    """Something only one format knows how to carry (tmem, a verify pass, a v2 marker...).

    ``origin`` names the format, ``kind`` the item; writers of other formats refuse it, or drop
    it only when asked to and say so.
    """

    origin: str
    kind: str
    data: bytes = b""


@kind("a last-checkpoint marker", BOTH, "aligned core legacy v2")
@dataclass(frozen=True, slots=True)
class LastCheckpoint(Record):
    """The saver's statement that no further checkpoint follows (legacy chunk -9).

    Writers of formats without such a marker ignore it; it is not data.
    """


@kind("a checkpoint", BOTH, "aligned core legacy v2")
@dataclass(frozen=True, slots=True)
class Checkpoint(Record):
    """The end of one consistent snapshot of a checkpointed (Remus/COLO) stream."""


@kind("the end of the image", BOTH, "aligned core legacy v2", restore=True)
@dataclass(frozen=True, slots=True)
class End(Record):
    """The end of the image."""
