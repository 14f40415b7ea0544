"""Aligned v1 is frozen: files written before any change read back, and re-write, exactly.

tests/aligned/frozen/ holds files the aligned v1 writer produced once (see frozen_records.py).
A change to the records, the body schema or the writer that alters the bytes of v1 fails here:
such a change needs a new format version, not an edit of v1.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from xcformat import records as r
from xcformat.aligned import codec, schema
from xcformat.io import open_source
from xcformat.kinds import carried_by

from conftest import read_aligned, same_records, write_aligned
from frozen_records import FILES

FROZEN = Path(__file__).parent / "frozen"


@pytest.mark.parametrize("name", sorted(FILES))
def test_a_frozen_file_reads_back_into_its_records(name):
    make, _ = FILES[name]
    assert same_records(read_aligned(FROZEN / name), make())


@pytest.mark.parametrize("name", sorted(FILES))
def test_a_frozen_file_rewrites_byte_for_byte(tmp_path, name):
    make, index = FILES[name]
    frozen = (FROZEN / name).read_bytes()
    assert write_aligned(tmp_path / "from-records", make(), index=index) == frozen
    assert write_aligned(tmp_path / "from-file", read_aligned(FROZEN / name),
                         index=index) == frozen


def test_the_frozen_files_hold_every_record_body_and_every_kind_aligned_carries_has_one():
    """Every v1 body is in a committed file, and every kind whose descriptor names aligned has
    a body."""
    records = [record for make, _ in FILES.values() for record in make()
               if not isinstance(record, (r.PageBatch, r.End))]
    assert {codec.encode_record(record)[0] for record in records} == set(schema.RECORD_BODIES)
    # A Physmap is stored in the body that carried it before it was a record of its own.
    assert {cls for cls, _ in schema.RECORD_BODIES.values()} == carried_by("aligned") - {
        r.PageBatch, r.End, r.Physmap}


@pytest.mark.parametrize("name", sorted(FILES))
def test_each_record_body_is_the_schema_parse_and_build_of_its_record(name):
    """Each body the reader reports is what the v1 body schema builds for its record (through
    the codec's translation where the record changed shape), the schema parses and rebuilds it
    unchanged, and the codec reads it back into that record."""
    regions = []
    records = read_aligned(FROZEN / name, regions.append)
    header = next(rec for rec in records if isinstance(rec, r.ImageHeader))
    records = [rec for rec in records if not isinstance(rec, (r.PageBatch, r.End))]
    data = (FROZEN / name).read_bytes()
    names = {cls.__name__ for cls, _ in schema.RECORD_BODIES.values()}
    stored = [region for region in regions if region.label in names]
    assert len(stored) == len(records)
    with open_source(str(FROZEN / name)) as source:
        for region, record in zip(stored, records):
            head = schema.RECORD_HEADER.parse(data[region.offset:region.offset + 16])
            body = data[region.offset + 16:region.offset + 16 + head.length]
            number, built = codec.encode_record(record)
            cls, struct = schema.RECORD_BODIES[number]
            assert (head.type, region.label, built) == (number, cls.__name__, body)
            assert struct.build(struct.parse(body)) == body
            at = region.offset + 16
            assert codec.decode_record(number, body, source, at, header) == record
