"""Every legacy structure the reader and writer handle goes through its schema declaration.

For each chunk payload and tail structure of real images from :mod:`xcformat.synth` (an
independent writer): the bytes at the region the reader reports parse with the structure's own
schema into exactly what the reader's record says, and the schema's build of that record's
values gives back those bytes, which are also what the legacy writer wrote for that record.
"""

from __future__ import annotations

import pytest

from xcformat import records as r
from xcformat.formats import Hints
from xcformat.io import open_sink, open_source
from xcformat.legacy import LegacyReader, LegacyWriter
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


def _chunk_values(record, spec: s.ChunkSpec) -> dict:
    """What the chunk ``spec`` must hold for ``record``, in its schema's field names."""
    if isinstance(record, r.TscInfo):
        return {"tsc_mode": record.mode, "nsec": record.nsec, "khz": record.khz,
                "incarnation": record.incarnation}
    if isinstance(record, r.HvmParams):
        (param, value), = record.params
        assert param == spec.hvm_param
        return {"pad": 0, "value": value}
    if isinstance(record, r.VcpuInfo):
        words = [0] * (record.max_vcpu_id // 64 + 1)
        for vcpu in record.online:
            words[vcpu // 64] |= 1 << (vcpu % 64)
        return {"max_vcpu_id": record.max_vcpu_id, "online": words}
    if isinstance(record, r.Toolstack):
        return {"length": len(record.data), "data": record.data}
    assert isinstance(record, r.LastCheckpoint | r.Opaque), record
    return {}


def _tail_case(label: str, record):
    """(struct, values) of a tail region and the record the reader made of it, else None."""
    if label == "HVM magic pfns":
        return s.HVM_MAGIC_PFNS, {name: dict(record.params)[param]
                                  for name, param in s.MAGIC_PFNS.items()}
    if label == "HVM context":
        return s.HVM_CONTEXT, {"context_length": len(record.blob), "context": record.blob}
    if label.endswith(" xsave"):
        return s.XSAVE_RECORD, {"xfeature_mask": record.mask, "size": len(record.data),
                                "data": record.data}
    if label.startswith("qemu record "):
        struct = s.QEMU_RECORDS[record.signature]
        if record.signature == s.QEMU_XEND:
            return struct, {"data": record.data}     # no length: the state runs to EOF
        return struct, {"length": len(record.data), "data": record.data}
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
        part = written[region.offset:region.offset + region.length]
        if region.label.startswith("chunk -"):
            chunk = s.CHUNKS[int(region.label.split()[1])]
            if chunk.payload is None:
                continue
            struct = REGISTRY[("legacy", f"chunk_{-chunk.id}")].struct
            values = {"id": chunk.id, **_chunk_values(record, chunk)}
        else:
            case = _tail_case(region.label, record)
            if case is None:
                continue
            struct, values = case
        parsed = struct.parse(part)
        assert {k: parsed[k] for k in values} == values, region
        assert struct.build(values) == part, region
        checked.add(region.label)
    assert checked, "no structure was checked"


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
