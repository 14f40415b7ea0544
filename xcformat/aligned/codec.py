"""Turning aligned v1 bytes into records and back, for every record but page batches.

The v1 bodies are frozen (:mod:`.schema`); where a record has changed shape since, the
translation is here, at the boundary: an ImageHeader's provenance is stored as the body's
``variant`` text (the provenance's ``label``), a Physmap as the body that
carried it before it was a record of its own (a Toolstack blob at the width it was read at, or
EmulatorXenstore keys), and a legacy source's batch fillers as the XTAB entries they were.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import construct as c

from ..codec import BUILD_ERRORS, describe, parse_bytes
from ..entries import split_fillers, with_fillers
from ..errors import FormatError
from ..io import Source
from ..legacy import physmap as blob
from ..records import (EmulatorXenstore, ImageHeader, PageBatch, PageType, Physmap, Provenance,
                       Record, Toolstack)
from ..v2 import physmap as keys
from . import schema as s

#: (record class, body field) -> (the record attribute it holds, to stored, from stored).
TRANSLATED: dict[tuple[type[Record], str], tuple[str, Callable[[Any], Any],
                                                  Callable[[Any], Any]]] = {
    (ImageHeader, "variant"): ("provenance", lambda p: p.label, Provenance.from_label),
}


def encode_record(record: Record) -> tuple[int, bytes]:
    """The record type and body of ``record`` (a non-batch record)."""
    if isinstance(record, Physmap):
        record = _stored_physmap(record)
    number = s.TYPE_OF_CLASS.get(type(record))
    if number is None:
        raise FormatError(f"aligned v1 has no record type for {type(record).__name__}")
    try:
        return number, s.RECORD_BODIES[number][1].build(body_values(record))
    except BUILD_ERRORS as exc:
        raise FormatError(f"cannot store {type(record).__name__} in aligned v1: "
                          f"{describe(exc)}") from None


def body_values(record: Record) -> dict[str, Any]:
    """The v1 body field values that store ``record`` (of a class that has a body)."""
    cls = type(record)
    values = {}
    for name in body_fields(s.RECORD_BODIES[s.TYPE_OF_CLASS[cls]][1]):
        attribute, stored, _ = TRANSLATED.get((cls, name), (name, _same, _same))
        values[name] = stored(getattr(record, attribute))
    return values


def decode_record(number: int, body, source: Source, offset: int,
                  header: ImageHeader | None = None) -> Record:
    """The record a v1 body holds; ``header``: the file's image header, read before it."""
    cls, struct = s.RECORD_BODIES[number]
    value = parse_bytes(struct, body, source, offset, cls.__name__)
    record = record_of(cls, value)
    if isinstance(record, Toolstack):
        return blob.from_blob(record.data, header.toolstack_bits if header else None) or record
    if isinstance(record, EmulatorXenstore):
        return keys.from_keys(record.data, record.emulator_id, record.index) or record
    return record


def record_of(cls: type[Record], value) -> Record:
    """The ``cls`` record whose body fields parsed as ``value``."""
    fields = {}
    for name in body_fields(s.RECORD_BODIES[s.TYPE_OF_CLASS[cls]][1]):
        attribute, _, loaded = TRANSLATED.get((cls, name), (name, _same, _same))
        fields[attribute] = loaded(value[name])
    return cls(**fields)


def _same(value):
    return value


def _stored_physmap(physmap: Physmap) -> Toolstack | EmulatorXenstore:
    """The body a physmap had before it was a record: read from a blob, a Toolstack blob of
    the same width; read from xenstore keys (or made), EmulatorXenstore keys."""
    if physmap.blob_bits:
        return Toolstack(blob.to_blob(physmap, physmap.blob_bits))
    return EmulatorXenstore(keys.to_keys(physmap), physmap.emulator_id, physmap.index)


def stored_entries(batch: PageBatch) -> tuple[tuple[int, ...], bytes]:
    """The entries a batch stores: its fillers back among them, as XTAB entries."""
    if not batch.fillers:
        return batch.pfns, batch.types
    return with_fillers(batch.pfns, batch.types, batch.fillers)


def loaded_batch(batch: PageBatch, header: ImageHeader | None) -> PageBatch:
    """``batch`` as read: a legacy source's XTAB entries are its fillers (as the legacy reader
    gives them), unless the batch names a machine frame for every entry (a dump's)."""
    if (header is None or header.provenance.format != "legacy" or batch.gmfns is not None
            or PageType.XTAB not in batch.types):
        return batch
    pfns, types, fillers = split_fillers(batch.pfns, batch.types)
    return PageBatch(pfns, types, batch.data, None, batch.data_offset, fillers)


def body_fields(struct: c.Construct) -> list[str]:
    """The field names of a v1 record body."""
    return [sub.name for sub in struct.subcons]


def record_bytes(number: int, body: bytes) -> bytes:
    """Header, body and zero padding to a multiple of 8."""
    head = s.RECORD_HEADER.build({"type": number, "flags": 0, "reserved": 0,
                                  "length": len(body)})
    return head + body + bytes(-len(body) % 8)
