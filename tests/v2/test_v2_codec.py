"""v2 record bodies the writer builds and the reader parses are their schema's build and parse.

Legacy images from :mod:`xcformat.synth` are converted to v2 by our writer; for each record
with a declared body, the body bytes at the region the v2 reader reports parse with that
schema into the fields of the record the reader yields, and the schema builds them back.
"""

from __future__ import annotations

import pytest

from xcformat import records as r
from xcformat.formats import Hints, WriteOptions
from xcformat.io import open_sink, open_source
from xcformat.legacy.reader import LegacyReader
from xcformat.synth import GuestSpec, legacy_bytes
from xcformat.v2 import schema as s
from xcformat.v2.reader import V2Reader
from xcformat.v2.writer import V2Writer

SPECS = {
    "pv64-xsave": GuestSpec(xsave=True, vcpus=2, pages=16),
    "pv32": GuestSpec(toolstack_bits=32, vcpus=2, pages=16),
    "hvm": GuestSpec(guest="hvm", pages=16, vcpus=2,
                     hvm_params={-3: 0xFEFFC000, -8: 0xFEFFF}),
}

#: record type -> (body schema, the reader's records of that kind, their fields in the body).
CASES = {
    "X86_TSC_INFO": (s.tsc_info, (r.TscInfo,), lambda rec: {
        "mode": rec.mode, "khz": rec.khz, "nsec": rec.nsec, "incarnation": rec.incarnation}),
    "X86_PV_VCPU_BASIC": (s.vcpu_header, (r.VcpuContext,), lambda rec: {
        "vcpu_id": rec.vcpu_id, "context": rec.context}),
    "X86_PV_VCPU_EXTENDED": (s.vcpu_header, (r.VcpuExtended,), lambda rec: {
        "vcpu_id": rec.vcpu_id, "context": rec.data}),
    "X86_PV_VCPU_XSAVE": (s.vcpu_header, (r.VcpuXsave,), lambda rec: {
        "vcpu_id": rec.vcpu_id, "context": rec.data}),
    "SHARED_INFO": (s.shared_info, (r.SharedInfo,), lambda rec: {"page": rec.page}),
    "HVM_CONTEXT": (s.hvm_context, (r.HvmContext,), lambda rec: {"blob": rec.blob}),
    "HVM_PARAMS": (s.hvm_params_header, (r.HvmParams,), lambda rec: {
        "count": len(rec.params),
        "params": b"".join(i.to_bytes(8, "little") + v.to_bytes(8, "little")
                           for i, v in rec.params)}),
}


def _v2_image(tmp_path, spec: GuestSpec):
    (tmp_path / "legacy").write_bytes(legacy_bytes(spec))
    with open_source(str(tmp_path / "legacy")) as source, \
            open_sink(str(tmp_path / "v2")) as sink:
        records = LegacyReader(source, Hints(guest=r.GuestType(spec.guest))).records()
        V2Writer(sink, WriteOptions(wrap="libxl")).write(records)
    return tmp_path / "v2"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_each_record_body_is_the_schema_parse_and_build_of_its_record(tmp_path, name):
    path = _v2_image(tmp_path, SPECS[name])
    regions, records = [], []
    with open_source(str(path)) as source:
        reader = V2Reader(source, Hints())
        reader.on_region = regions.append
        records = [rec for rec in reader.records() if not isinstance(rec, r.PageBatch)]
    data = path.read_bytes()
    checked = set()
    for kind, (struct, classes, fields) in CASES.items():
        bodies = []
        for region in regions:
            if region.label.startswith(f"record {kind} "):
                head = s.record_header.parse(data[region.offset:region.offset + s.RHDR_SIZE])
                start = region.offset + s.RHDR_SIZE
                bodies.append(data[start:start + head.length])
        ours = [rec for rec in records if isinstance(rec, classes)]
        assert len(bodies) == len(ours), kind
        for body, record in zip(bodies, ours):
            values = fields(record)
            parsed = struct.parse(body)
            assert {key: parsed[key] for key in values} == values, kind
            full = {key: parsed[key] for key in parsed if not key.startswith("_")}
            assert struct.build(full) == body, kind
            checked.add(kind)
    expected = {"X86_TSC_INFO"} | ({"HVM_CONTEXT", "HVM_PARAMS"} if SPECS[name].guest == "hvm"
                                   else {"X86_PV_VCPU_BASIC", "SHARED_INFO"})
    assert expected <= checked
