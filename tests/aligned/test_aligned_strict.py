"""``validate`` on aligned files: every rule of the format is checked, and hostile bytes only
ever raise xcformat's own errors."""

from __future__ import annotations

import json
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xcformat import records as r
from xcformat.aligned import FORMAT
from xcformat.cli import main
from xcformat.errors import XcFormatError
from xcformat.formats import Hints
from xcformat.io import open_source

from conftest import batch, read_aligned, write_aligned

SMALL = [
    r.ImageHeader(r.GuestType.PV, 0x800, 64, 32, None, r.Provenance("legacy", layout="pv")),
    r.PvExtInfo(((b"vcpu", bytes(16)),)),
    batch([(1, 0), (2, 1), (0, 0xF), (3, 0xD)], 0),
    r.VcpuInfo(0, frozenset({0})),
    batch([(0x7FF, 0)], 0),
    r.VcpuContext(0, b"ctx"),
    r.End(),
]


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "img"
    data = bytearray(write_aligned(path, SMALL))
    regions = []
    read_aligned(path, regions.append)
    return path, data, regions


def validate(path, capsys) -> tuple[int, dict]:
    code = main(["validate", "--json", str(path)])
    return code, json.loads(capsys.readouterr().out)


def first(regions, kind):
    return next(region for region in regions if region.kind == kind)


def test_a_sound_file_is_valid(image, capsys):
    path, _, _ = image
    code, report = validate(path, capsys)
    assert (code, report["valid"], report["format"]) == (0, True, "aligned")


def corrupt(path, data, offset, value: bytes):
    data[offset:offset + len(value)] = value
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("where, field", [
    ("padding", "batch.head_pad"),            # padding before the pages must be zero
    ("end-padding", "end.padding"),           # so must the END record's
    ("leaf", "index.leaf"),                   # the index must agree with the batches
    ("entry-type", "batch.entries"),          # page types 5..8 do not exist
    ("record-type", "record.type"),           # no unknown records
    ("head-pad-field", "batch.head_pad"),     # pages must start on a block boundary
    ("trailer", "trailer.data_pages"),        # the trailer's counts must match
    ("header-reserved", "file_header.reserved2"),  # so must the file header's reserved bytes
])
def test_each_broken_rule_is_reported_with_offset_and_field(image, capsys, where, field):
    path, data, regions = image
    index = first(regions, "index")
    header = first(regions, "batch-header")
    offsets = {
        "padding": first(regions, "padding").offset + 5,
        "end-padding": regions[-1].offset + 20,
        "leaf": index.offset + 16 + 16 + 8 + 4 * 1,            # pfn 1's slot
        "entry-type": header.offset + 32 + 3,                  # top byte of entry 0
        "record-type": regions[1].offset,
        "trailer": len(data) - 48 + 24,
        "header-reserved": 4000,
    }
    value = {"entry-type": b"\x50", "record-type": b"\x66"}.get(where, b"\x01")
    if where == "head-pad-field":   # 8 more bytes of padding, and a length that agrees
        for at in (header.offset + 8, header.offset + 28):
            value = struct.pack("<I", struct.unpack_from("<I", data, at)[0] + 8)
            corrupt(path, data, at, value)
    else:
        corrupt(path, data, offsets[where], value)
    code, report = validate(path, capsys)
    assert code == 1 and not report["valid"]
    # The first error is the broken rule; validate reads on past it where it can.
    error = next(f for f in report["findings"] if f["level"] == "error")
    assert error["field"].startswith(field)
    assert error["offset"] is not None


def test_unknown_compatible_features_warn_and_unknown_incompatible_ones_refuse(image, capsys):
    path, data, _ = image
    corrupt(path, data, 40, struct.pack("<Q", 1 | 1 << 9))
    code, report = validate(path, capsys)
    assert code == 0 and report["findings"][0]["level"] == "warning"
    corrupt(path, data, 32, struct.pack("<Q", 1 << 3))
    assert main(["validate", str(path)]) == 1
    assert "unknown incompatible feature bits 0x8" in capsys.readouterr().err


def test_trailing_bytes_and_truncation_are_errors(image, capsys):
    path, data, _ = image
    path.write_bytes(bytes(data) + bytes(4096))
    assert validate(path, capsys)[1]["findings"][-1]["message"] == "bytes after the END record"
    path.write_bytes(bytes(data[:-4096]))
    code, report = validate(path, capsys)
    assert code == 1 and report["findings"][-1]["offset"] is not None


def test_index_lookup_refuses_a_lying_trailer(image):
    path, data, _ = image
    corrupt(path, data, len(data) - 48 + 8, struct.pack("<Q", 8))  # index "at" offset 8
    with open_source(str(path)) as source, pytest.raises(XcFormatError) as err:
        FORMAT.page_lookup(source, 1)
    assert "index" in str(err.value)


def _read_everything(path, pfn):
    with open_source(str(path)) as source:
        reader = FORMAT.reader(source, Hints())
        for record in reader.records():
            if isinstance(record, r.PageBatch):
                bytes(record.data)
    with open_source(str(path)) as source:
        FORMAT.page_lookup(source, pfn)


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=st.lists(st.tuples(st.integers(0, 1 << 30), st.integers(0, 255)), max_size=4),
       cut=st.one_of(st.none(), st.integers(0, 1 << 30)),
       pfn=st.integers(0, 0x1000))
def test_mutated_or_truncated_files_raise_only_xcformat_errors(tmp_path, flips, cut, pfn):
    original = write_aligned(tmp_path / "orig", SMALL)
    data = bytearray(original)
    # Aim most flips at the structures (the first 8 KiB and the last blocks hold them).
    hot = [*range(0, 8192), *range(len(data) - 8192, len(data))]
    for position, value in flips:
        data[hot[position % len(hot)]] = value
    if cut is not None:
        data = data[:cut % (len(data) + 1)]
    path = tmp_path / "mutant"
    path.write_bytes(bytes(data))
    try:
        _read_everything(path, pfn)
    except XcFormatError:
        pass
