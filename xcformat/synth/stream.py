"""The legacy image of a :class:`GuestSpec` as a sequence of items, in file order.

Items are small byte strings (headers, chunks, tails) and :class:`Batch` objects whose page data is
built only when written, so the same walk serves the writer (which materialises pages) and
:func:`~xcformat.synth.expected.expected` (which only counts them).  Layout rules: spec/legacy.md#stream-order
(4.5 body order, Remus checkpoints) and the variants of :mod:`.variants`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from . import chunks
from .batches import Batch, dirty_pass, full_pass, is_live, special_pfns
from .compression import compressed_chunk
from .hvmguest import hvm_context, magic_pfns, qemu_state
from .pvguest import (
    MFN_BASE,
    VGC,
    XSAVE_RECORD,
    extended_context,
    raw_context,
    shared_info_page,
    tail_context,
    vcpu_context,
    xsave_record,
)
from .pfnroles import pfn_roles
from .spec import GuestSpec
from .variants import HVM_PARAM_CHUNKS


@dataclass(frozen=True)
class Chunk:
    """A body item with a negative id."""

    id: int
    data: bytes


Item = bytes | Chunk | Batch


# --- fixed parts --------------------------------------------------------------------------

def _ulongs(spec: GuestSpec, values) -> bytes:
    values = list(values)
    word = "Q" if spec.toolstack_bits == 64 else "I"
    return struct.pack(f"<{len(values)}{word}", *values)


def ext_info(spec: GuestSpec) -> bytes:
    """The all-ones signature and the "vcpu"/"extv"/"xcnt" blocks, or nothing."""
    v = spec.info
    roles = pfn_roles(spec)
    if v.ext_info == "none" or (v.ext_info == "pae" and roles.guest_bytes != 4):
        return b""
    context = raw_context(spec, roles)
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
    """The PV tail: unmapped pfns, per-vcpu context [+ext][+xsave], shared info."""
    roles = pfn_roles(spec)
    unmapped = special_pfns(spec)["unmapped"]
    parts = [struct.pack("<I", len(unmapped)), _ulongs(spec, unmapped)]
    vcpus = spec.vcpus if spec.info.vcpu_info else (0,)
    for vcpu in vcpus:
        parts.append(tail_context(spec, roles, vcpu, checkpoint))
        if has_extv(spec):
            parts.append(extended_context(spec, vcpu))
        if spec.xsave:
            parts.append(xsave_record(spec, vcpu))
    parts.append(shared_info_page(spec, roles, checkpoint))
    return b"".join(parts)


def hvm_tail(spec: GuestSpec, checkpoint: int) -> bytes:
    """The HVM tail: 3.1+ (magic pfns, context) or 2007 (context, vcpu contexts, shinfo frame)."""
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
    """HVM param chunks in 4.5's emission order, non-zero values only (xc_domain_save.c)."""
    params = dict(spec.hvm_params)
    return tuple((cid, params[cid]) for cid in HVM_PARAM_CHUNKS if params.get(cid))


def _body_end(spec: GuestSpec, enable_compression: bool = False) -> Iterator[Item]:
    """-2, HVM params, -18, -9, -13 (each where the variant writes it), then 0."""
    v = spec.info
    if v.vcpu_info:
        yield Chunk(-2, chunks.vcpu_info(spec))
    for chunk_id, value in emitted_params(spec):
        yield Chunk(chunk_id, chunks.value_chunk(chunk_id, value))
    if v.toolstack:
        yield Chunk(-18, chunks.toolstack(spec))
    if v.last_checkpoint:
        yield Chunk(-9, chunks.marker(-9))
    if enable_compression:
        yield Chunk(-13, chunks.marker(-13))
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
        yield _ulongs(spec, pfn_roles(spec).frames)
    if spec.tmem:
        yield Chunk(-5, chunks.tmem(spec))
    live = is_live(spec)
    if v.tsc and not live:
        yield Chunk(-7, chunks.tsc_info(spec))          # non-live save: before the batches
    yield from full_pass(spec)
    if live:
        # Once the guest is suspended, the last iteration starts with -6 and -7.
        if spec.tmem:
            yield Chunk(-6, chunks.tmem_extra(spec))
        if v.tsc:
            yield Chunk(-7, chunks.tsc_info(spec))
    # Remus repeats (dirty pages, -2 ... 0, tail) for every checkpoint.
    # With compression, -13 ends the first checkpoint's body and every later checkpoint's
    # pages follow their batch headers in a -12 chunk.
    for checkpoint in range(spec.checkpoints if v.checkpointed else 1):
        compressed = spec.compression and checkpoint > 0
        if live:
            for batch in dirty_pass(spec, checkpoint + 1, compressed):
                yield batch
                if compressed:
                    yield Chunk(-12, compressed_chunk(spec, batch))
        if spec.verify:
            # -1 (the debug flag), then every page again for the receiver to compare.
            yield Chunk(-1, chunks.marker(-1))
            yield from full_pass(spec)
        yield from _body_end(spec, enable_compression=spec.compression and checkpoint == 0)
        yield from _tail(spec, checkpoint)
