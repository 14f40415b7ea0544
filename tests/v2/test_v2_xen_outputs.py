"""Streams written by Xen's own converter (committed data files) are read, validated, converted."""

from pathlib import Path

import pytest

from v2_guests import page
from v2_helpers import page_offsets, pages_by_pfn, read, write

from xcformat.records import (EmulatorContext, EmulatorXenstore, HvmParams, ImageHeader, Physmap,
                              VcpuContext)

FIXTURES = Path(__file__).parent / "fixtures"


def errors(findings):
    return [f for f in findings if f.level == "error"]


def test_xen_converted_pv_stream_reads_valid_with_its_pages(tmp_path):
    records, findings = read(FIXTURES / "xen-converted-pv.v2")
    assert errors(findings) == []
    header = records[0]
    assert isinstance(header, ImageHeader) and header.p2m_size == 4 and header.guest_bits == 64
    assert header.xen_version == (0, 1)
    assert pages_by_pfn(records) == {p: page(p) for p in range(4)}
    assert [r.vcpu_id for r in records if isinstance(r, VcpuContext)] == [0]


def test_xen_converted_hvm_libxl_stream_reads_valid(tmp_path):
    records, findings = read(FIXTURES / "xen-converted-hvm.libxl")
    assert errors(findings) == []
    assert pages_by_pfn(records) == {p: page(p) for p in range(3)}
    params = {k: v for r in records if isinstance(r, HvmParams) for k, v in r.params}
    assert params == {12: 0xFEFFC000, 5: 0x13, 6: 0x14, 1: 0x15}
    # Xen's converter writes the physmap keys as libxl does: they read as a Physmap.
    assert [e.name for r in records if isinstance(r, Physmap) for e in r.entries] == [b"vga.vram"]
    assert not any(isinstance(r, EmulatorXenstore) for r in records)
    assert [r.data[:4] for r in records if isinstance(r, EmulatorContext)] == [b"QEVM"]


@pytest.mark.parametrize("name", ["xen-converted-pv.v2", "xen-converted-hvm.libxl"])
@pytest.mark.parametrize("options", [{}, {"align": True}, {"wrap": "xl", "align": True}])
def test_xen_converted_streams_convert_and_keep_their_pages(tmp_path, name, options):
    records, _ = read(FIXTURES / name)
    data = write(tmp_path / "out", records, **options)
    again, findings = read(tmp_path / "out")
    assert errors(findings) == []
    assert pages_by_pfn(again) == pages_by_pfn(records)
    if options.get("align"):
        start = data.index(b"\xff" * 8 + b"XENF")
        assert all(o % 4096 == 0 for o in page_offsets(data, start))
    # our own output rewrites byte for byte
    assert write(tmp_path / "again", again, **options) == data
