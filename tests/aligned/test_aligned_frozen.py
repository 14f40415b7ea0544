"""Aligned v1 is frozen: files written before any change read back, and re-write, exactly.

tests/aligned/frozen/ holds files the aligned v1 writer produced once (see frozen_records.py).
A change to the records, the body schema or the writer that alters the bytes of v1 fails here:
such a change needs a new format version, not an edit of v1.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from xcformat import records as r
from xcformat.aligned import schema

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


def test_the_frozen_files_hold_every_record_kind():
    kinds = {type(record) for make, _ in FILES.values() for record in make()}
    every = {cls for cls in vars(r).values()
             if isinstance(cls, type) and issubclass(cls, r.Record) and cls is not r.Record}
    assert kinds == every
    assert {cls for cls, _ in schema.RECORD_BODIES.values()} == every - {r.PageBatch, r.End}


@pytest.mark.parametrize("name", sorted(FILES))
def test_each_record_body_is_the_schema_parse_and_build_of_its_record(name):
    """The reader's record is the v1 body schema's parse of the bytes it reports for it, and
    the schema's build of that record's fields is those bytes (as the writer wrote them)."""
    regions = []
    records = [rec for rec in read_aligned(FROZEN / name, regions.append)
               if not isinstance(rec, (r.PageBatch, r.End))]
    data = (FROZEN / name).read_bytes()
    bodies = {cls.__name__: (number, struct) for number, (cls, struct)
              in schema.RECORD_BODIES.items()}
    stored = [region for region in regions if region.label in bodies]
    assert [region.label for region in stored] == [type(rec).__name__ for rec in records]
    for region, record in zip(stored, records):
        number, struct = bodies[region.label]
        head = schema.RECORD_HEADER.parse(data[region.offset:region.offset + 16])
        assert head.type == number
        body = data[region.offset + 16:region.offset + 16 + head.length]
        values = {sub.name: getattr(record, sub.name) for sub in struct.subcons}
        parsed = struct.parse(body)
        assert type(record)(**{key: parsed[key] for key in values}) == record
        assert struct.build(values) == body
