"""The legacy image of a :class:`GuestSpec` as a sequence of items, in file order.

Items are small byte strings (headers, chunks, tails) and :class:`Batch` objects whose page data is
built only when written, so the same walk serves the writer (which materialises pages) and
:func:`~xcformat.synth.expected.expected` (which only counts them).  Layout rules: fact sheet §2.1
(4.5 body order), §4 (2007), §5 (3.x), §2.1 last paragraph (Remus checkpoints).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from . import chunks
from .hvmguest import hvm_context, magic_pfns, qemu_state
from .pages import PageBuilder
from .pvguest import (
    MFN_BASE,
    VGC,
    XSAVE_RECORD,
    extended_context,
    pv_layout,
    raw_context,
    shared_info_page,
    structure_page,
    tail_context,
    vcpu_context,
    xsave_record,
)
from .spec import VGA_HOLE, GuestSpec, data_end, hvm_data_pfns
from .variants import HVM_PARAM_CHUNKS

XTAB = 0xF << 28
BROKEN = 0xD << 28
XALLOC = 0xE << 28
NO_DATA = (0xD, 0xE, 0xF)
#: Ordinary pages re-sent in Remus checkpoint version v are those with pfn % DIRTY_STRIDE == v % ...
DIRTY_STRIDE = 7


@dataclass(frozen=True)
class Chunk:
    """A body item with a negative id."""

    id: int
    data: bytes


@dataclass(frozen=True)
class Batch:
    """One page batch: ``words`` as written, ``pfns`` of its data-bearing entries, in order."""

    words: tuple[int, ...]
    pfns: tuple[int, ...]
    version: int
    spec: GuestSpec

    def header(self) -> bytes:
        word = "Q" if self.spec.toolstack_bits == 64 else "I"
        return struct.pack(f"<i{len(self.words)}{word}", len(self.words), *self.words)

    @property
    def nbytes(self) -> int:
        return 4 + len(self.words) * self.spec.toolstack_bits // 8 + 4096 * len(self.pfns)

    def structure_pages(self) -> Iterator[tuple[int, bytes]]:
        """(index in the batch's data, page) for PV structure pages, which are not patterns."""
        if self.spec.guest != "pv" or not self.pfns:
            return
        lay = pv_layout(self.spec)
        for index, pfn in enumerate(self.pfns):
            if pfn >= lay.block_end:
                return
            page = structure_page(self.spec, lay, pfn)
            if page is not None:
                yield index, page

    def pages(self, builder: PageBuilder) -> memoryview:
        """The batch's page data, in ``builder``'s buffer (valid until its next build)."""
        data = builder.build(self.pfns, self.version)
        for index, page in self.structure_pages():
            builder.patch(index, page)
        return data


Item = bytes | Chunk | Batch


def is_live(spec: GuestSpec) -> bool:
    """A live save sends every page, then re-sends the pages dirtied meanwhile (Remus always)."""
    return spec.live or spec.info.checkpointed


def final_version(spec: GuestSpec, pfn: int) -> int:
    """The version of the last copy of an ordinary page: live saves re-send some (0 otherwise)."""
    structural = spec.guest == "pv" and 0 < pfn < pv_layout(spec).block_end
    if not is_live(spec) or structural:
        return 0                     # only ordinary pages are re-sent (see ordinary_pfns)
    best = 0
    for version in range(1, (spec.checkpoints if spec.info.checkpointed else 1) + 1):
        if version % DIRTY_STRIDE == pfn % DIRTY_STRIDE:
            best = version
    return best


# --- batch entries ------------------------------------------------------------------------

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
    lay = pv_layout(spec)
    yield 0, 0
    if spec.special_pages:
        if spec.info.xtab_pv == "mfn":     # ≤3.x: XTAB keeps leftover MFN bits (§2.5, §4.1)
            for i in range(3):
                yield XTAB | ((MFN_BASE + 0x7000 + 0x35 * i) & 0x0FFFFFFF), -1
        else:                               # 4.x: exactly 0xF0000000, in runs
            for _ in range(3):
                yield XTAB, -1
        for pfn in special_pfns(spec)["broken"]:
            yield BROKEN | pfn, -1
    for pfn in range(1, lay.block_end):
        yield pfn | lay.page_type(pfn) << 28, pfn
    for pfn in range(lay.block_end, spec.pages):
        yield pfn, pfn


def _hvm_entries(spec: GuestSpec) -> Iterator[tuple[int, int]]:
    """(word, data pfn or -1) for an HVM guest's full pass (§2.5, §4.2, §5)."""
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


def _batches(spec: GuestSpec, entries, version: int) -> Iterator[Batch]:
    drop_empty = spec.info.xtab_pv == "zero"      # 4.x never writes an all-XTAB batch (§2.5)
    words: list[int] = []
    pfns: list[int] = []
    for word, pfn in entries:
        words.append(word)
        if pfn >= 0:
            pfns.append(pfn)
        if len(words) == spec.batch:
            if not (drop_empty and all(w >> 28 == 0xF for w in words)):
                yield Batch(tuple(words), tuple(pfns), version, spec)
            words, pfns = [], []
    if words and not (drop_empty and all(w >> 28 == 0xF for w in words)):
        yield Batch(tuple(words), tuple(pfns), version, spec)


def _full_pass(spec: GuestSpec) -> Iterator[Batch]:
    entries = _pv_entries(spec) if spec.guest == "pv" else _hvm_entries(spec)
    return _batches(spec, entries, 0)


def ordinary_pfns(spec: GuestSpec):
    """pfns holding pattern pages (the ones Remus re-sends)."""
    if spec.guest == "hvm":
        return hvm_data_pfns(spec)
    return [0, *range(pv_layout(spec).block_end, spec.pages)]


def _dirty_pass(spec: GuestSpec, version: int) -> Iterator[Batch]:
    residue = version % DIRTY_STRIDE
    dirty = ((pfn, pfn) for pfn in ordinary_pfns(spec) if pfn % DIRTY_STRIDE == residue)
    return _batches(spec, dirty, version)


# --- fixed parts --------------------------------------------------------------------------

def _ulongs(spec: GuestSpec, values) -> bytes:
    values = list(values)
    word = "Q" if spec.toolstack_bits == 64 else "I"
    return struct.pack(f"<{len(values)}{word}", *values)


def ext_info(spec: GuestSpec) -> bytes:
    """§2.3 / §4.1: the all-ones signature and the "vcpu"/"extv"/"xcnt" blocks, or nothing."""
    v = spec.info
    lay = pv_layout(spec)
    if v.ext_info == "none" or (v.ext_info == "pae" and lay.guest_bytes != 4):
        return b""
    context = raw_context(spec, lay)
    blocks = [b"vcpu" + struct.pack("<I", len(context)) + context]
    if v.ext_info == "full":
        blocks.append(b"extv" + struct.pack("<I", 0))
        if spec.xsave:
            blocks.append(b"xcnt" + struct.pack("<II", 4, XSAVE_RECORD))
    body = b"".join(blocks)
    return _ulongs(spec, [(1 << spec.toolstack_bits) - 1]) + struct.pack("<I", len(body)) + body


def has_extv(spec: GuestSpec) -> bool:
    return spec.guest == "pv" and spec.info.ext_info == "full"


def pv_tail(spec: GuestSpec, checkpoint: int) -> bytes:
    """§2.8 / §4.1: unmapped pfns, per-vcpu context [+ext][+xsave], shared info."""
    lay = pv_layout(spec)
    unmapped = special_pfns(spec)["unmapped"]
    parts = [struct.pack("<I", len(unmapped)), _ulongs(spec, unmapped)]
    vcpus = spec.vcpus if spec.info.vcpu_info else (0,)
    for vcpu in vcpus:
        parts.append(tail_context(spec, lay, vcpu, checkpoint))
        if has_extv(spec):
            parts.append(extended_context(spec, vcpu))
        if spec.xsave:
            parts.append(xsave_record(spec, vcpu))
    parts.append(shared_info_page(spec, lay, checkpoint))
    return b"".join(parts)


def hvm_tail(spec: GuestSpec, checkpoint: int) -> bytes:
    """§2.9 (3.1+: magic pfns, context) or §4.2 (2007: context, vcpu contexts, shinfo frame)."""
    blob = hvm_context(spec, checkpoint)
    if spec.info.hvm_tail == "magic":
        return struct.pack("<QQQI", *magic_pfns(spec), len(blob)) + blob
    width = spec.toolstack_bits // 8
    parts = [struct.pack("<I", len(blob)), blob, struct.pack("<I", len(spec.vcpus))]
    for vcpu in spec.vcpus:
        context = vcpu_context(spec, width, vcpu, cr3_frame=0x10 + vcpu, gdt_frame=0, edx=0,
                               tag=checkpoint)
        parts += [struct.pack("<I", VGC[width]), context]
    parts.append(struct.pack("<I", (MFN_BASE + spec.p2m_size) & 0xFFFFFFFF))
    return b"".join(parts)


def emitted_params(spec: GuestSpec) -> tuple[tuple[int, int], ...]:
    """HVM param chunks in 4.5's emission order, non-zero values only (§2.1 item 6)."""
    params = dict(spec.hvm_params)
    return tuple((cid, params[cid]) for cid in HVM_PARAM_CHUNKS if params.get(cid))


def _body_end(spec: GuestSpec) -> Iterator[Item]:
    """-2, HVM params, -18, -9 (each where the variant writes it), then 0."""
    v = spec.info
    if v.vcpu_info:
        yield Chunk(-2, chunks.vcpu_info(spec))
    for chunk_id, value in emitted_params(spec):
        yield Chunk(chunk_id, chunks.value_chunk(chunk_id, value))
    if v.toolstack:
        yield Chunk(-18, chunks.toolstack(spec))
    if v.last_checkpoint:
        yield Chunk(-9, chunks.marker(-9))
    yield chunks.marker(0)


def _tail(spec: GuestSpec, checkpoint: int) -> Iterator[Item]:
    yield pv_tail(spec, checkpoint) if spec.guest == "pv" else hvm_tail(spec, checkpoint)
    if spec.qemu is not None:
        yield chunks.qemu_record(spec.qemu, qemu_state(spec, checkpoint))


def items(spec: GuestSpec) -> Iterator[Item]:
    """Every item of the image in file order."""
    v = spec.info
    yield chunks.wrapper_header(spec)
    yield _ulongs(spec, [spec.p2m_size])
    if spec.guest == "pv":
        yield ext_info(spec)
        yield _ulongs(spec, pv_layout(spec).frames)
    if spec.tmem:
        yield Chunk(-5, chunks.tmem(spec))
    live = is_live(spec)
    if v.tsc and not live:
        yield Chunk(-7, chunks.tsc_info(spec))          # non-live save: before the batches
    yield from _full_pass(spec)
    if live:
        # §2.1 item 3: once the guest is suspended, the last iteration starts with -6 and -7.
        if spec.tmem:
            yield Chunk(-6, chunks.tmem_extra(spec))
        if v.tsc:
            yield Chunk(-7, chunks.tsc_info(spec))
    # Remus repeats (dirty pages, -2 ... 0, tail) for every checkpoint (§2.1 last paragraph).
    for checkpoint in range(spec.checkpoints if v.checkpointed else 1):
        if live:
            yield from _dirty_pass(spec, checkpoint + 1)
        if spec.verify:
            # §2.1 item 4 / §4.1: -1, then every page again for the receiver to compare.
            yield Chunk(-1, chunks.marker(-1))
            yield from _full_pass(spec)
        yield from _body_end(spec)
        yield from _tail(spec, checkpoint)
