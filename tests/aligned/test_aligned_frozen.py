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
