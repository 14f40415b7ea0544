"""Page batches: which entries each pass of a save writes, and their page data.

A full pass sends every page in pfn order (the entry rules per variant, spec/legacy.md#batch_header_w64: XTAB with or
without leftover bits, BROKEN, XALLOC, the VGA hole, all-XTAB batches dropped by 4.x); a live save
(and every Remus checkpoint) then re-sends some ordinary pages with a higher version, so readers
must keep the last copy.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from .pages import PageBuilder
from .pvguest import MFN_BASE, structure_page
from .pfnroles import pfn_roles
from .spec import VGA_HOLE, GuestSpec, data_end, hvm_data_pfns

XTAB = 0xF << 28
BROKEN = 0xD << 28
XALLOC = 0xE << 28
#: Live saves re-send, as version v, the ordinary pages whose pfn ≡ v (mod DIRTY_STRIDE).
DIRTY_STRIDE = 7


@dataclass(frozen=True)
class Batch:
    """One page batch: ``words`` as written, ``pfns`` of its data-bearing entries, in order."""

    words: tuple[int, ...]
    pfns: tuple[int, ...]
    version: int
    spec: GuestSpec
    compressed: bool = False     #: Remus compression: the pages travel in a -12 chunk instead

    def header(self) -> bytes:
        word = "Q" if self.spec.toolstack_bits == 64 else "I"
        return struct.pack(f"<i{len(self.words)}{word}", len(self.words), *self.words)

    @property
    def nbytes(self) -> int:
        data = 0 if self.compressed else 4096 * len(self.pfns)
        return 4 + len(self.words) * self.spec.toolstack_bits // 8 + data

    def structure_pages(self) -> Iterator[tuple[int, bytes]]:
        """(index in the batch's data, page) for PV structure pages, which are not patterns."""
        if self.spec.guest != "pv" or not self.pfns:
            return
        roles = pfn_roles(self.spec)
        for index, pfn in enumerate(self.pfns):
            if pfn >= roles.block_end:
                return
            page = structure_page(self.spec, roles, pfn)
            if page is not None:
                yield index, page

    def pages(self, builder: PageBuilder) -> memoryview:
        """The batch's page data, in ``builder``'s buffer (valid until its next build)."""
        data = builder.build(self.pfns, self.version)
        for index, page in self.structure_pages():
            builder.patch(index, page)
        return data


def is_live(spec: GuestSpec) -> bool:
    """A live save sends every page, then re-sends the pages dirtied meanwhile (Remus always)."""
    return spec.live or spec.info.checkpointed


def final_version(spec: GuestSpec, pfn: int) -> int:
    """The version of the last copy of an ordinary page: live saves re-send some (0 otherwise)."""
    structural = spec.guest == "pv" and 0 < pfn < pfn_roles(spec).block_end
    if not is_live(spec) or structural:
        return 0                     # only ordinary pages are re-sent (see ordinary_pfns)
    best = 0
    for version in range(1, (spec.checkpoints if spec.info.checkpointed else 1) + 1):
        if version % DIRTY_STRIDE == pfn % DIRTY_STRIDE:
            best = version
    return best


def special_pfns(spec: GuestSpec) -> dict[str, tuple[int, ...]]:
    """Hole pfns (above the data) that ``special_pages`` gives a role."""
    if not spec.special_pages:
        return {"unmapped": (), "broken": (), "xalloc": ()}
    base = data_end(spec)
    v = spec.info
    if spec.guest == "pv":
        return {"unmapped": (base, base + 1), "broken": (base + 2,) if v.broken else (),
                "xalloc": ()}
    return {"unmapped": (), "broken": (base,) if v.broken else (),
            "xalloc": (base + 1, base + 2) if v.xalloc else ()}


def _pv_entries(spec: GuestSpec) -> Iterator[tuple[int, int]]:
    """(word, data pfn or -1) for a PV guest's full pass: pfns in order, specials after pfn 0."""
    roles = pfn_roles(spec)
    yield 0, 0
    if spec.special_pages:
        if spec.info.xtab_pv == "mfn":     # ≤3.x: XTAB keeps leftover MFN bits
            for i in range(3):
                yield XTAB | ((MFN_BASE + 0x7000 + 0x35 * i) & 0x0FFFFFFF), -1
        else:                               # 4.x: exactly 0xF0000000, in runs
            for _ in range(3):
                yield XTAB, -1
        for pfn in special_pfns(spec)["broken"]:
            yield BROKEN | pfn, -1
    for pfn in range(1, roles.block_end):
        yield pfn | roles.page_type(pfn) << 28, pfn
    for pfn in range(roles.block_end, spec.pages):
        yield pfn, pfn


def _hvm_entries(spec: GuestSpec) -> Iterator[tuple[int, int]]:
    """(word, data pfn or -1) for an HVM guest's full pass."""
    v = spec.info
    data = hvm_data_pfns(spec)
    if not v.typed_hvm_pfns:               # 2007: bare pfns, every entry has data
        for pfn in data:
            yield pfn, pfn
        return
    specials = special_pfns(spec)
    typed = {pfn: BROKEN | pfn for pfn in specials["broken"]}
    typed.update({pfn: XALLOC | pfn for pfn in specials["xalloc"]})
    last = max([data_end(spec) - 1, *typed])
    stop = spec.p2m_size if v.xtab_hvm == "pfn" else min(
        spec.p2m_size, (last // spec.batch + 1) * spec.batch)   # 4.x drops all-XTAB batches
    for pfn in range(stop):
        if pfn in data:
            yield pfn, pfn
        elif pfn in typed:
            yield typed[pfn], -1
        elif v.hvm_hole_skipped and pfn in VGA_HOLE:
            continue                       # 3.1-3.3 never send the VGA hole
        else:                              # unbacked: XTAB, with the pfn (3.x) or without (4.1+)
            yield XTAB | (pfn if v.xtab_hvm == "pfn" else 0), -1


def _batches(spec: GuestSpec, entries, version: int, compressed: bool = False
             ) -> Iterator[Batch]:
    drop_empty = spec.info.xtab_pv == "zero"      # 4.x never writes an all-XTAB batch
    words: list[int] = []
    pfns: list[int] = []
    for word, pfn in entries:
        words.append(word)
        if pfn >= 0:
            pfns.append(pfn)
        if len(words) == spec.batch:
            if not (drop_empty and all(w >> 28 == 0xF for w in words)):
                yield Batch(tuple(words), tuple(pfns), version, spec, compressed)
            words, pfns = [], []
    if words and not (drop_empty and all(w >> 28 == 0xF for w in words)):
        yield Batch(tuple(words), tuple(pfns), version, spec, compressed)


def full_pass(spec: GuestSpec) -> Iterator[Batch]:
    entries = _pv_entries(spec) if spec.guest == "pv" else _hvm_entries(spec)
    return _batches(spec, entries, 0)


def ordinary_pfns(spec: GuestSpec):
    """pfns holding pattern pages (the ones Remus re-sends)."""
    if spec.guest == "hvm":
        return hvm_data_pfns(spec)
    return [0, *range(pfn_roles(spec).block_end, spec.pages)]


def dirty_pass(spec: GuestSpec, version: int, compressed: bool = False) -> Iterator[Batch]:
    residue = version % DIRTY_STRIDE
    dirty = ((pfn, pfn) for pfn in ordinary_pfns(spec) if pfn % DIRTY_STRIDE == residue)
    return _batches(spec, dirty, version, compressed)
