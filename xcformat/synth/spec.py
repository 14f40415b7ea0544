"""``GuestSpec``: the description of one synthetic guest and the variant it is saved in."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from .pfnroles import pfn_roles
from .variants import VARIANTS, Variant

#: p2m_size must fit the 28 pfn bits of a batch entry.
MAX_P2M_SIZE = 0x0FFFFFFF
MAX_BATCH = 1024
#: The VGA hole an HVM guest has no memory in.
VGA_HOLE = range(0xA0, 0xC0)
#: How many hole pfns above the data pages ``special_pages`` uses (unmapped, BROKEN, XALLOC).
SPECIAL_HOLE_PFNS = 4
AUTO = "auto"


@dataclass(frozen=True)
class GuestSpec:
    """One synthetic guest saved as a legacy image.

    ``guest_bits`` defaults to ``toolstack_bits`` for PV and must be None for HVM.  ``vcpus`` is a
    count (ids 0..n-1) or an iterable of online vcpu ids containing 0.  ``p2m_size`` defaults to
    the highest data pfn + 1 plus a few hole pfns.  ``qemu="auto"`` picks the variant's usual
    device-model record for HVM (None for PV); None writes no record.  ``hvm_params`` maps legacy
    chunk ids (-3, -4, -8, ...) to values; None picks the variant's usual set, ``{}`` none.
    ``checkpoints`` is used by the "remus" variant only (always live).  ``live`` writes a live
    migration's layout: every page, then (-6, -7 where the variant has them and) a last
    iteration that re-sends some pages.  ``verify`` adds the debug flag's -1 chunk and a second
    copy of every page (non-live saves).  ``xsave_per_vcpu`` (with ``xsave``) gives odd vcpus a
    smaller xsave record than "xcnt" says, as Xen 4.4+ may.  ``compression``
    (Remus) sends checkpoints after the first with Remus page compression (-13, -12).
    """

    guest: str = "pv"
    toolstack_bits: int = 64
    guest_bits: int | None = None
    variant: str = "4.5"
    pages: int = 64
    p2m_size: int | None = None
    vcpus: int | tuple[int, ...] = 1
    xsave: bool = False
    xsave_per_vcpu: bool = False
    wrapper: str | None = None
    qemu: str | None = AUTO
    qemu_bytes: int = 600
    hvm_params: Mapping[int, int] | tuple[tuple[int, int], ...] | None = None
    special_pages: bool = False
    tmem: bool = False
    batch: int = MAX_BATCH
    seed: int = 0
    checkpoints: int = 3
    live: bool = False
    verify: bool = False
    compression: bool = False

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown variant {self.variant!r} (known: {', '.join(VARIANTS)})")
        self._check_guest()
        self._check_features()
        self._check_sizes()

    def _check_guest(self) -> None:
        """Guest type, widths and vcpus the variant can have."""
        put = object.__setattr__
        v = self.info
        if self.guest not in v.guests:
            raise ValueError(f"variant {self.variant} has no {self.guest} guests")
        if self.toolstack_bits not in (32, 64):
            raise ValueError("toolstack_bits must be 32 or 64")
        if self.guest == "hvm":
            if self.guest_bits is not None:
                raise ValueError("guest_bits is for PV guests only")
        else:
            if self.guest_bits is None:
                put(self, "guest_bits", self.toolstack_bits)
            if self.guest_bits not in (32, 64):
                raise ValueError("guest_bits must be 32 or 64")
            if v.same_width and self.guest_bits != self.toolstack_bits:
                raise ValueError(f"variant {self.variant} has no 32-on-64 guests")
            if self.variant == "3.0.4-pae" and self.guest_bits != 32:
                raise ValueError("3.0.4-pae is a 32-bit PAE guest saved by 32-bit tools")
        put(self, "vcpus", _vcpu_ids(self.vcpus))
        if self.guest == "pv" and not v.vcpu_info and len(self.vcpus) > 1:
            raise ValueError(f"{self.variant} PV images carry vcpu 0 only (no -2 chunk)")
        if v.vcpu_info and max(self.vcpus) > v.max_vcpu_id:      # the -2 map's limit
            raise ValueError(f"variant {self.variant} allows vcpu ids up to {v.max_vcpu_id}")

    def _check_features(self) -> None:
        """Records and page kinds the variant can have."""
        put = object.__setattr__
        v = self.info
        if self.qemu == AUTO:
            put(self, "qemu", v.qemu_default if self.guest == "hvm" else None)
        if self.qemu is not None and (self.guest == "pv" or self.qemu not in v.qemu_allowed):
            raise ValueError(f"qemu record {self.qemu!r} does not occur in {self.variant} "
                             f"{self.guest} images (allowed: {sorted(map(str, v.qemu_allowed))})")
        if self.wrapper not in v.wrappers:
            raise ValueError(f"wrapper {self.wrapper!r} does not occur with {self.variant}")
        for flag, allowed in (("xsave", v.xsave), ("tmem", v.tmem)):
            if getattr(self, flag) and not allowed:
                raise ValueError(f"variant {self.variant} has no {flag}")
        if self.xsave_per_vcpu and not self.xsave:
            raise ValueError("xsave_per_vcpu needs xsave")
        if self.xsave and self.guest == "hvm":
            raise ValueError("xsave records are PV tail records (HVM keeps them in its context)")
        params = self._params()
        put(self, "hvm_params", params)
        bad = {cid for cid, _ in params} - v.hvm_params
        if bad or (params and self.guest != "hvm"):
            raise ValueError(f"HVM param chunks {sorted(bad) or 'in a PV image'} do not occur in "
                             f"{self.variant} {self.guest} images")
        if any(not 0 <= value < 1 << 64 for _, value in params):
            raise ValueError("HVM param values are u64")
        if self.special_pages and self.variant == "2007-hvm":
            raise ValueError("2007-hvm batches are bare pfns: no special page types")
        if not 1 <= self.batch <= MAX_BATCH:
            raise ValueError("batch must be 1..1024")
        if self.compression and not v.checkpointed:
            raise ValueError("compression is Remus checkpoint compression (variant remus)")
        if self.verify and (self.live or v.checkpointed):
            raise ValueError("verify is for non-live saves here")
        if self.checkpoints < 1:
            raise ValueError("checkpoints must be at least 1")
        if self.qemu_bytes < 4:
            raise ValueError("qemu_bytes must be at least 4 (the QEVM magic)")

    @property
    def info(self) -> Variant:
        return VARIANTS[self.variant]

    def _params(self) -> tuple[tuple[int, int], ...]:
        if self.hvm_params is None:
            if self.guest != "hvm":
                return ()
            return tuple(pair for pair in default_hvm_params(self) if pair[0] in
                         self.info.hvm_params)
        items = self.hvm_params.items() if isinstance(self.hvm_params, Mapping) \
            else self.hvm_params
        return tuple(sorted((int(k), int(val)) for k, val in items))

    def _check_sizes(self) -> None:
        """pages and p2m_size leave room for the guest's structures (and fit 28 pfn bits)."""
        if self.pages < 1:
            raise ValueError("pages must be at least 1")
        end = data_end(self)
        needed = end + (SPECIAL_HOLE_PFNS if self.special_pages else 0)
        if self.variant == "2007-hvm":
            # The 2007 HVM saver writes nr_pages + 0x20 as max_pfn.
            fixed = self.pages + 0x20
            if self.p2m_size not in (None, fixed):
                raise ValueError(f"2007-hvm images have p2m_size = pages + 0x20 = {fixed:#x}")
            object.__setattr__(self, "p2m_size", fixed)
        elif self.p2m_size is None:
            object.__setattr__(self, "p2m_size", needed + 8)
        if self.p2m_size < needed:
            raise ValueError(f"p2m_size {self.p2m_size:#x} leaves no room for {self.pages} pages"
                             f"{' and the special pages' if self.special_pages else ''}"
                             f" (needs {needed:#x})")
        if self.p2m_size > MAX_P2M_SIZE:
            raise ValueError("p2m_size must be <= 0x0FFFFFFF, 28 pfn bits")
        if self.guest == "pv":
            pfn_roles(self)   # the structures must fit the validated sizes above
        elif len(hvm_data_pfns(self)) < 16 and self.info.hvm_tail == "magic":
            raise ValueError("an HVM guest needs at least 16 pages (magic and ring pages)")


def _vcpu_ids(vcpus) -> tuple[int, ...]:
    ids = tuple(range(vcpus)) if isinstance(vcpus, int) else tuple(sorted(set(vcpus)))
    if not ids or ids[0] != 0 or ids[0] < 0:
        raise ValueError("vcpus must be >= 1, or a set of ids containing 0")
    return ids


def hvm_data_pfns(spec: GuestSpec) -> Sequence[int]:
    """The pfns of an HVM guest that hold memory: the first ``pages`` pfns outside the VGA hole."""
    if spec.pages <= VGA_HOLE.start:
        return range(spec.pages)
    return _HvmPfns(spec.pages)


class _HvmPfns(Sequence[int]):
    """pfns 0..0x9F then 0xC0.. (a sequence without materialising millions of ints)."""

    def __init__(self, pages: int) -> None:
        self.pages = pages

    def __len__(self) -> int:
        return self.pages

    def __getitem__(self, i: int) -> int:  # type: ignore[override]  # no slices
        if i < 0:
            i += self.pages
        if not 0 <= i < self.pages:
            raise IndexError(i)
        return i if i < VGA_HOLE.start else i + len(VGA_HOLE)

    def __contains__(self, pfn: object) -> bool:
        if not isinstance(pfn, int):
            return False
        return 0 <= pfn < VGA_HOLE.start or VGA_HOLE.stop <= pfn < self.pages + len(VGA_HOLE)

    def __iter__(self) -> Iterator[int]:
        yield from range(VGA_HOLE.start)
        yield from range(VGA_HOLE.stop, self.pages + len(VGA_HOLE))


def data_end(spec: GuestSpec) -> int:
    """Highest pfn holding data + 1."""
    if spec.guest == "hvm":
        return hvm_data_pfns(spec)[-1] + 1
    return spec.pages


def default_hvm_params(spec: GuestSpec) -> list[tuple[int, int]]:
    """A libxl-like HVM parameter set: ring and console pfns just below the magic pfns."""
    top = data_end(spec) - 1
    return [(-14, 0xFC00F000), (-3, 0xFEFFD000), (-15, top - 4), (-16, top - 5),
            (-17, top - 6), (-4, 0xFEFF8000), (-8, top - 3), (-10, 1), (-11, 1),
            (-19, top - 8), (-20, 2)]
