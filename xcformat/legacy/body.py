"""The body of a legacy stream: page batches and chunks, up to the terminating 0."""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from typing import Any

from ..entries import split_fillers, split_typed
from ..errors import Finding
from ..pfnmap import PfnMap
from ..records import (INVALID_TYPES, PAGE_SIZE, PAGE_TABLE_TYPES, LastCheckpoint, Opaque,
                       PageBatch, Physmap, Record, data_page_count)
from . import physmap
from .cursor import Cursor, Stream
from .payloads import CHUNK_PAYLOADS
from .schema import BODY_ITEM, CHUNKS, MAX_BATCH
from .tmem import read_tmem, read_tmem_extra

XTAB = 0xF
TYPE_FEATURES = {0xD: "broken", 0xE: "xalloc"}


def read_body(cursor: Cursor, stream: Stream) -> Iterator[Record]:
    """Records of one checkpoint's body; consumes the terminating 0."""
    while True:
        start = cursor.offset
        item = cursor.parse(BODY_ITEM, "body.item")
        if item == 0:
            cursor.region(start, "chunk", "end of body (0)")
            break
        if item > 0:
            yield read_batch(cursor, stream, item, start)
            continue
        spec = CHUNKS.get(item)
        if spec is None:
            raise cursor.error(f"unknown chunk id {item} (or a batch count >= 2^31): chunks "
                               "carry no length, so it cannot be skipped", "body.item", start)
        if spec.hvm_only and stream.pv:
            raise cursor.error(f"HVM-only chunk {item} {spec.name} in a PV stream",
                               "body.item", start)
        stream.chunks[item] += 1
        stream.versions.saw(f"chunk{item}")
        yield from CHUNK_READERS[item](cursor, stream, spec, start)
        cursor.region(start, "chunk", f"chunk {item} {spec.name}")
    check_body_end(cursor, stream)


def read_batch(cursor: Cursor, stream: Stream, count: int, start: int) -> PageBatch:
    if count > MAX_BATCH:
        raise cursor.error(f"batch of {count} entries (at most {MAX_BATCH})", "batch.count",
                           start)
    word = stream.structs.word
    words = cursor.read(count * word, "batch.entries").cast("I")
    if word == 8:
        high = words[1::2]
        if any(high):
            index = next(i for i, h in enumerate(high) if h)
            raise cursor.error(f"batch entry {index} has upper 32 bits set "
                               f"({high[index] << 32 | words[2 * index]:#x})",
                               "batch.entries", start + 4 + 8 * index)
        words = words[::2]
    types, pfns = split_typed(words.tobytes(), 4)
    check_batch(cursor, stream, pfns, types, start)
    pages = data_page_count(types)
    cursor.region(start, "batch-header", f"batch ({count} entries)")
    data_start = cursor.offset
    data = cursor.source.page_data(pages * PAGE_SIZE, "batch.pages")
    cursor.region(data_start, "page-data", f"{pages} pages")
    if XTAB not in types:
        return PageBatch(pfns, types, data, data_offset=data_start)
    # Restorers skip XTAB entries whatever their pfn bits say (RELEASE-4.5.0
    # tools/libxc/xc_domain_restore.c): they are the batch's fillers, not pfns.
    pfns, types, fillers = split_fillers(pfns, types)
    return PageBatch(pfns, types, data, data_offset=data_start, fillers=fillers)


def check_batch(cursor: Cursor, stream: Stream, pfns: tuple[int, ...], types: bytes,
                start: int) -> None:
    def at(index: int) -> int:
        return start + 4 + stream.structs.word * index

    kinds = set(types)
    for bad in kinds & INVALID_TYPES:
        index = types.index(bad)
        raise cursor.error(f"batch entry {index}: invalid page type {bad:#x}", "batch.entries",
                           at(index))
    if not stream.pv and kinds & PAGE_TABLE_TYPES:
        index = next(i for i, t in enumerate(types) if t in PAGE_TABLE_TYPES)
        raise cursor.error(f"batch entry {index}: page-table type {types[index]:#x} in an HVM "
                           "stream", "batch.entries", at(index))
    xtab = XTAB in kinds
    real = [p for p, t in zip(pfns, types) if t != XTAB] if xtab else pfns
    if real and max(real) >= stream.p2m_size:
        index = next(i for i, (p, t) in enumerate(zip(pfns, types))
                     if t != XTAB and p >= stream.p2m_size)
        raise cursor.error(f"batch entry {index}: pfn {pfns[index]:#x} >= p2m_size "
                           f"{stream.p2m_size:#x}", "batch.entries", at(index))
    if len(set(real)) != len(real):
        seen: set[int] = set()
        index = next(i for i, (p, t) in enumerate(zip(pfns, types))
                     if t != XTAB and (p in seen or seen.add(p)))  # type: ignore[func-returns-value]
        cursor.problem(f"batch entry {index}: pfn {pfns[index]:#x} appears twice in one batch",
                       "batch.entries", at(index))
    if xtab and any(p for p, t in zip(pfns, types) if t == XTAB):
        stream.versions.lacks("pv-xtab-junk" if stream.pv else "hvm-xtab-junk")
    for kind, feature in TYPE_FEATURES.items():
        if kind in kinds:
            stream.versions.saw(feature)
    if stream.type_map is not None:
        record_types(stream.type_map, pfns, types, xtab)


def record_types(type_map: PfnMap, pfns: tuple[int, ...], types: bytes, xtab: bool) -> None:
    """Note each entry's type in the per-pfn map (XTAB entries name no page).  A batch of
    consecutive pfns, the usual case, is one run."""
    first = pfns[0]
    if not xtab and pfns == tuple(range(first, first + len(pfns))):
        type_map.put_run(first, array("B", types))
        return
    for pfn, kind in zip(pfns, types):
        if kind != XTAB:
            type_map[pfn] = kind


def check_body_end(cursor: Cursor, stream: Stream) -> None:
    if stream.extv and not stream.saw_vcpu_info:
        raise cursor.error("no -2 VCPU_INFO chunk in a stream with extv (3.2+ always writes "
                           "it)", "body.vcpu_info")
    if len(stream.ioreq_server_chunks) == 1:
        raise cursor.error(f"only one of chunks -19/-20 ({stream.ioreq_server_chunks.pop()})",
                           "body.ioreq_server")
    if not stream.saw_vcpu_info:
        stream.versions.lacks("no-chunk-2")
    if not stream.chunks[-7]:
        stream.versions.lacks("no-chunk-7")
    if stream.chunks[-9] > 1:
        # Valid: restorers only set a flag (RELEASE-4.5.0 xc_domain_restore.c), the converter
        # ignores it; xcformat's --align writes one before each W=8 batch.
        cursor.findings.append(Finding(
            "info", f"{stream.chunks[-9]} -9 (LAST_CHECKPOINT) chunks: repeats are idempotent, "
                    "as in an XTAB-filler aligned stream", None, "body.last_checkpoint"))


# -- chunk payloads ---------------------------------------------------------------------------

def _verify_mode(cursor, stream, spec, start):
    yield Opaque("legacy", "verify-mode")


def _last_checkpoint(cursor, stream, spec, start):
    stream.saw_last_checkpoint = True
    yield LastCheckpoint()


def _compression(cursor, stream, spec, start):
    raise cursor.error(f"chunk {spec.id} {spec.name}: Remus compression needs the receiver's "
                       "page cache and cannot be read from a file", "body.item", start)


def _payload(cursor: Cursor, spec, what: str) -> Any:   # the record of the chunk's kind
    """The chunk's record, through its schema and its payload codec."""
    return CHUNK_PAYLOADS[spec.id].load(cursor.parse(spec.payload, what), spec)


def _vcpu_info(cursor, stream, spec, start):
    record = _payload(cursor, spec, "vcpu_info")
    stream.online, stream.saw_vcpu_info = tuple(sorted(record.online)), True
    if record.max_vcpu_id >= 64:
        stream.versions.saw("vcpus>64")
    yield record


def _value(cursor, stream, spec, start):
    record = _payload(cursor, spec, f"chunk{spec.id}")
    if spec.id in (-19, -20):
        stream.ioreq_server_chunks.add(spec.id)
    yield record


def _tsc_info(cursor, stream, spec, start):
    yield _payload(cursor, spec, "tsc_info")


def _toolstack(cursor, stream, spec, start):
    record = _payload(cursor, spec, "toolstack")
    yield libxl_toolstack(cursor, stream, record.data, start + 8) or record


def libxl_toolstack(cursor: Cursor, stream: Stream, data: bytes, base: int) -> Physmap | None:
    """The libxl physmap the -18 payload holds (libxl writes nothing else there), checked;
    None when bytes follow its entries (kept as they are, with a warning)."""
    try:
        found, end = physmap.parse(data, stream.structs.toolstack_bits)
    except physmap.BlobError as exc:
        raise cursor.error(exc.message, exc.field, base + exc.offset) from None
    if end != len(data):
        cursor.warn(f"{len(data) - end} bytes after the libxl physmap entries",
                    "toolstack.data", base + end)
        return None
    return found


def _tmem(cursor, stream, spec, start):
    yield Opaque("legacy", "tmem", read_tmem(cursor))


def _tmem_extra(cursor, stream, spec, start):
    yield Opaque("legacy", "tmem-extra", read_tmem_extra(cursor))


def _value_readers() -> dict:
    return {c.id: _value for c in CHUNKS.values() if c.hvm_param is not None}


#: chunk id -> generator of the records its payload becomes.
CHUNK_READERS = {
    -1: _verify_mode, -2: _vcpu_info, -5: _tmem, -6: _tmem_extra, -7: _tsc_info,
    -9: _last_checkpoint, -12: _compression, -13: _compression, -18: _toolstack,
    **_value_readers(),
}
assert set(CHUNK_READERS) == set(CHUNKS)
