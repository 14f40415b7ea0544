"""Every legacy structure the reader and writer handle goes through its schema declaration.

For each chunk payload and tail structure of real images from :mod:`xcformat.synth` (an
independent writer): the bytes at the region the reader reports, parsed by the structure's own
schema and loaded by its payload codec, are the record the reader yielded; the schema's build of
the codec's dump of that record gives back those bytes, which are what the legacy writer wrote.
"""

from __future__ import annotations

import pytest

from xcformat import records as r
from xcformat.formats import Hints
from xcformat.io import open_sink, open_source
from xcformat.legacy.reader import LegacyReader
from xcformat.legacy.writer import LegacyWriter
from xcformat.legacy import payloads as p
from xcformat.legacy import physmap
from xcformat.legacy import schema as s
from xcformat.schema import REGISTRY
from xcformat.synth import GuestSpec, legacy_bytes

SPECS = {
    "pv64-xsave": GuestSpec(xsave=True, vcpus=2, pages=16, special_pages=True),
    "pv32": GuestSpec(toolstack_bits=32, vcpus=2, pages=16),
    "hvm": GuestSpec(guest="hvm", pages=16, vcpus=2),
    "hvm-params": GuestSpec(guest="hvm", pages=16,
                            hvm_params={-3: 0xFEFFC000, -4: 0xFEFF0000, -8: 0xFEFFF, -10: 1}),
    "hvm-xend": GuestSpec(guest="hvm", pages=16, variant="3.2", wrapper="xend"),
}


def _case(label: str, record):
    """(struct, payload codec, its context, struct fields not from the record) of a region,
    or None for a region that is not a schema'd record structure."""
    if label.startswith("chunk -"):
        chunk = s.CHUNKS[int(label.split()[1])]
        if chunk.id not in p.CHUNK_PAYLOADS:
            return None      # no payload (or tmem's, which has no fixed layout)
        return (REGISTRY[("legacy", f"chunk_{-chunk.id}")].struct, p.CHUNK_PAYLOADS[chunk.id],
                chunk, {"id": chunk.id})
    if label == "HVM magic pfns":
        return s.HVM_MAGIC_PFNS, p.MAGIC_PFNS_PAYLOAD, None, {}
    if label == "HVM context":
        return s.HVM_CONTEXT, p.HVM_CONTEXT_PAYLOAD, None, {}
    if label.endswith(" xsave"):
        return s.XSAVE_RECORD, p.XSAVE_PAYLOAD, record.vcpu_id, {}
    if label.startswith("qemu record "):
        return s.QEMU_RECORDS[record.signature], p.QEMU_PAYLOAD, record.signature, {}
    return None


def _events(path, spec: GuestSpec):
    """Records and regions in the order the reader produced them (a chunk's region comes
    after its record, a tail structure's before it)."""
    events = []
    with open_source(str(path)) as source:
        reader = LegacyReader(source, _hints(spec))
        reader.on_region = events.append
        for record in reader.records():
            # Page views die with the next record; batches are bulk, not schema'd structures.
            events.append(None if isinstance(record, r.PageBatch) else record)
    return events


def _hints(spec: GuestSpec) -> Hints:
    return Hints(guest=r.GuestType(spec.guest))


def _pairs(events):
    """(region, the record it holds): the record before a chunk, the one after a tail part."""
    for i, event in enumerate(events):
        if not hasattr(event, "label"):
            continue
        if event.label.startswith("chunk -"):
            record = next(e for e in reversed(events[:i]) if not hasattr(e, "label"))
        else:
            record = next((e for e in events[i + 1:] if not hasattr(e, "label")), None)
        yield event, record


@pytest.mark.parametrize("name", sorted(SPECS))
def test_each_structure_is_the_schema_parse_and_build_of_its_record(tmp_path, name):
    data = legacy_bytes(SPECS[name])
    (tmp_path / "in").write_bytes(data)
    with open_source(str(tmp_path / "in")) as source, open_sink(str(tmp_path / "out")) as sink:
        LegacyWriter(sink).write(LegacyReader(source, _hints(SPECS[name])).records())
    written = (tmp_path / "out").read_bytes()
    assert written == data
    checked = set()
    for region, record in _pairs(_events(tmp_path / "in", SPECS[name])):
        case = _case(region.label, record)
        if case is None:
            continue
        struct, payload, context, fixed = case
        part = written[region.offset:region.offset + region.length]
        # The reader's record is the codec's load of the schema's parse of these bytes ...
        loaded = payload.load(struct.parse(part), context)
        if isinstance(record, r.Physmap):
            # ... the -18 payload's libxl blob read by the one physmap codec ...
            bits = SPECS[name].toolstack_bits
            assert physmap.from_blob(loaded.data, bits) == record, region
            record = r.Toolstack(physmap.to_blob(record, bits))
        assert loaded == record, region
        # ... and the schema's build of the codec's dump of that record gives them back.
        assert struct.build({**fixed, **payload.dump(record, context)}) == part, region
        checked.add(region.label)
    assert checked, "no structure was checked"


def test_every_chunk_with_fields_has_a_payload_codec():
    with_fields = {chunk.id for chunk in s.CHUNKS.values()
                   if chunk.payload is not None and chunk.payload.subcons}
    assert with_fields == set(p.CHUNK_PAYLOADS)


def test_the_cases_cover_every_fixed_chunk_and_tail_structure(tmp_path):
    seen = set()
    for name, spec in SPECS.items():
        (tmp_path / name).write_bytes(legacy_bytes(spec))
        seen.update(region.label for region, _ in _pairs(_events(tmp_path / name, spec)))
    chunks = {int(label.split()[1]) for label in seen if label.startswith("chunk -")}
    assert {-2, -3, -4, -7, -8, -9, -10, -18} <= chunks
    assert {"HVM magic pfns", "HVM context"} <= seen
    assert any(label.endswith(" xsave") for label in seen)
    assert {label for label in seen if label.startswith("qemu record ")} >= {
        "qemu record DeviceModelRecord0002", "qemu record QemuDeviceModelRecord"}
