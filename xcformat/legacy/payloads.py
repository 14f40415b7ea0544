"""Records <-> the field values of the legacy structures that carry them, load beside dump.

One small codec per kind (the shape CRIU gives its image handlers): ``load`` makes the record
from what the structure's schema parsed, ``dump`` gives the field values the schema builds for a
record.  The reader and the writer both go through these, so a structure's fields are named in
its schema and mapped to a record in one place; the rules that need the whole stream (pfns
against p2m_size, xcnt against each xsave size) stay in the reader.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..records import EmulatorContext, HvmContext, HvmParams, Record, Toolstack, TscInfo, \
    VcpuInfo, VcpuXsave
from .schema import CHUNKS, MAGIC_PFNS, ChunkSpec


@dataclass(frozen=True)
class Payload:
    """How one kind of record is stored in one legacy structure."""

    record: type[Record]
    #: (parsed values, context) -> record; the context is what the bytes do not say: the
    #: chunk spec, the vCPU id of a tail record, the qemu signature.
    load: Callable[..., Record]
    dump: Callable[..., dict]       #: (record, context) -> the structure's field values


def _online_words(record: VcpuInfo) -> list[int]:
    words = [0] * (record.max_vcpu_id // 64 + 1)
    for vcpu in record.online:
        words[vcpu // 64] |= 1 << (vcpu % 64)
    return words


def _online_ids(values) -> frozenset[int]:
    bitmap = sum(word << (64 * i) for i, word in enumerate(values.online))
    return frozenset(i for i in range(values.max_vcpu_id + 1) if bitmap >> i & 1)


def _one_param(record: HvmParams, spec: ChunkSpec) -> int:
    (index, value), = record.params
    if index != spec.hvm_param:
        raise ValueError(f"HVM parameter {index} in chunk {spec.id}")
    return value


VCPU_INFO = Payload(
    VcpuInfo,
    lambda v, spec: VcpuInfo(v.max_vcpu_id, _online_ids(v)),
    lambda r, spec: {"max_vcpu_id": r.max_vcpu_id, "online": _online_words(r)})
TSC_INFO = Payload(
    TscInfo,
    lambda v, spec: TscInfo(v.tsc_mode, v.nsec, v.khz, v.incarnation),
    lambda r, spec: {"tsc_mode": r.mode, "nsec": r.nsec, "khz": r.khz,
                     "incarnation": r.incarnation})
TOOLSTACK = Payload(
    Toolstack,
    lambda v, spec: Toolstack(bytes(v.data)),
    lambda r, spec: {"length": len(r.data), "data": r.data})
#: A value chunk holds one HVM parameter (the chunk spec says which).
VALUE = Payload(
    HvmParams,
    lambda v, spec: HvmParams(((spec.hvm_param, v.value),)),
    lambda r, spec: {"pad": 0, "value": _one_param(r, spec)})

#: chunk id -> its payload codec, for every chunk whose payload is a record's fields.
CHUNK_PAYLOADS: dict[int, Payload] = {
    -2: VCPU_INFO, -7: TSC_INFO, -18: TOOLSTACK,
    **{spec.id: VALUE for spec in CHUNKS.values() if spec.hvm_param is not None}}


# -- tails ------------------------------------------------------------------------------------

MAGIC_PFNS_PAYLOAD = Payload(
    HvmParams,
    lambda v, _: HvmParams(tuple((param, v[name]) for name, param in MAGIC_PFNS.items())),
    lambda r, _: {name: dict(r.params).get(param, 0) for name, param in MAGIC_PFNS.items()})
HVM_CONTEXT_PAYLOAD = Payload(
    HvmContext,
    lambda v, _: HvmContext(bytes(v.context)),
    lambda r, _: {"context_length": len(r.blob), "context": r.blob})
XSAVE_PAYLOAD = Payload(
    VcpuXsave,
    lambda v, vcpu: VcpuXsave(vcpu, bytes(v.data), v.xfeature_mask),
    lambda r, _: {"xfeature_mask": r.mask, "size": len(r.data), "data": r.data})
#: Every qemu record: the signature is its own field (a Const in each schema), the xend one has
#: no length (its state runs to the end of the file), which building simply ignores.
QEMU_PAYLOAD = Payload(
    EmulatorContext,
    lambda v, signature: EmulatorContext(bytes(v.data), signature=signature),
    lambda r, _: {"length": len(r.data), "data": r.data})
