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
from typing import Any

from ..records import EmulatorContext, HvmContext, HvmParams, Record, Toolstack, TscInfo, \
    VcpuInfo, VcpuXsave
from .schema import CHUNKS, MAGIC_PFNS


@dataclass(frozen=True)
class Payload:
    """How one kind of record is stored in one legacy structure."""

    record: type[Record]
    #: (parsed values, context) -> record; the context is what the bytes do not say: the
    #: chunk spec, the vCPU id of a tail record, the qemu signature.
    load: Callable[..., Any]        #: returns an instance of ``record``
    dump: Callable[..., dict]       #: (record, context) -> the structure's field values


def _online_words(record: VcpuInfo) -> list[int]:
    words = [0] * (record.max_vcpu_id // 64 + 1)
    for vcpu in record.online:
        words[vcpu // 64] |= 1 << (vcpu % 64)
    return words


def _online_ids(values) -> frozenset[int]:
    bitmap = sum(word << (64 * i) for i, word in enumerate(values.online))
    return frozenset(i for i in range(values.max_vcpu_id + 1) if bitmap >> i & 1)


#: -2: the online set as a bitmap of u64 words.
VCPU_INFO = Payload(
    VcpuInfo,
    lambda v, spec: VcpuInfo(v.max_vcpu_id, _online_ids(v)),
    lambda r, spec: {"max_vcpu_id": r.max_vcpu_id, "online": _online_words(r)})
#: -7: the TSC fields, in the chunk's own order.
TSC_INFO = Payload(
    TscInfo,
    lambda v, spec: TscInfo(v.tsc_mode, v.nsec, v.khz, v.incarnation),
    lambda r, spec: {"tsc_mode": r.mode, "nsec": r.nsec, "khz": r.khz,
                     "incarnation": r.incarnation})


def _blob(cls: type[Any], attr: str, length: str, data: str) -> Payload:
    """A record of one blob (its ``attr``), stored as fields ``length`` then ``data``."""
    return Payload(cls, lambda v, _: cls(bytes(v[data])),
                   lambda r, _: {length: len(getattr(r, attr)), data: getattr(r, attr)})


#: -18: the toolstack blob behind its length.
TOOLSTACK = _blob(Toolstack, "data", "length", "data")
#: A value chunk holds one HVM parameter (the chunk spec says which).
VALUE = Payload(
    HvmParams,
    lambda v, spec: HvmParams(((spec.hvm_param, v.value),)),
    lambda r, spec: {"pad": 0, "value": dict(r.params)[spec.hvm_param]})

#: chunk id -> its payload codec, for every chunk whose payload is a record's fields.
CHUNK_PAYLOADS: dict[int, Payload] = {
    -2: VCPU_INFO, -7: TSC_INFO, -18: TOOLSTACK,
    **{spec.id: VALUE for spec in CHUNKS.values() if spec.hvm_param is not None}}


# -- tails ------------------------------------------------------------------------------------

#: HVM tail: the three magic pfns, as HVM parameters (0 when the source had none).
MAGIC_PFNS_PAYLOAD = Payload(
    HvmParams,
    lambda v, _: HvmParams(tuple((param, v[name]) for name, param in MAGIC_PFNS.items())),
    lambda r, _: {name: dict(r.params).get(param, 0) for name, param in MAGIC_PFNS.items()})
#: Both HVM tails: the hypervisor's context blob behind its length.
HVM_CONTEXT_PAYLOAD = _blob(HvmContext, "blob", "context_length", "context")
#: PV tail: one vCPU's xsave state behind the host mask and its size.
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
