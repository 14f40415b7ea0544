"""The legacy writer fed with records in another format's order (as a v2 reader yields them)."""

import pytest

import image
from helpers import read_all, rewrite
from xcformat.errors import UnsupportedError
from xcformat.formats import Hints, WriteOptions
from xcformat.io import open_sink
from xcformat.legacy import LegacyWriter
from xcformat.records import (End, GuestType, HvmContext, HvmParams, ImageHeader, LastCheckpoint,
                              P2MFrames, PageBatch, PvExtInfo, SharedInfo, Toolstack, TscInfo,
                              VcpuContext, VcpuExtended, VcpuInfo, VcpuMsrs, VcpuXsave)

PAGES = bytes(range(256)) * 16 * 3


def write(path, records, **options):
    said = []
    with open_sink(str(path)) as sink:
        LegacyWriter(sink, WriteOptions(say=said.append, **options)).write(records)
    return said


def pv_records(width=64, extra=()):
    return [
        ImageHeader(GuestType.PV, 16, guest_bits=64, toolstack_bits=width, variant="v2"),
        P2MFrames((1,)),
        PageBatch((0, 1, 2), bytes([0, 0, 0xC]), memoryview(PAGES)),
        TscInfo(0, 1, 2400000, 1),
        *extra,
        VcpuContext(0, image.pv_context(64, 0, gdt_pfn=0)), VcpuExtended(0, bytes(128)),
        VcpuContext(1, image.pv_context(64, 1, gdt_pfn=0)),
        SharedInfo(bytes(4096)),
        End(),
    ]


@pytest.mark.parametrize("width", [None, 32])
def test_pv_from_another_format_gets_ext_info_vcpu_info_and_last_checkpoint(tmp_path, width):
    write(tmp_path / "out", pv_records(), toolstack_bits=width)
    records, summary, findings = read_all(tmp_path / "out")
    header = records[0]
    assert (header.guest, header.guest_bits, header.toolstack_bits) == (GuestType.PV, 64,
                                                                         width or 64)
    assert [b for b, _ in next(r for r in records if isinstance(r, PvExtInfo)).blocks] == \
        [b"vcpu", b"extv"]
    assert next(r for r in records if isinstance(r, VcpuInfo)).online == {0, 1}
    assert any(isinstance(r, LastCheckpoint) for r in records)
    extended = [r for r in records if isinstance(r, VcpuExtended)]
    assert [r.data[:4] for r in extended] == [bytes(4), b"\1\0\0\0"]   # vCPU 1's filled in
    batch = next(r for r in records if isinstance(r, PageBatch))
    assert bytes(batch.data) == PAGES and batch.pfns == (0, 1, 2)
    assert not findings


def test_hvm_params_arriving_after_the_context_become_chunks_and_tail_pfns(tmp_path):
    records = [
        ImageHeader(GuestType.HVM, 0x100, variant="v2"),
        PageBatch((0, 1), bytes([0, 0]), memoryview(PAGES[:8192])),
        HvmContext(image.hvm_context(3)),
        HvmParams(((1, 0xFC), (5, 0xFE), (6, 0xFD), (12, 0xFEFFC000), (9, 1), (17, 0))),
        End(),
    ]
    write(tmp_path / "out", records, toolstack_bits=32)
    back, summary, _ = read_all(tmp_path / "out", Hints(guest=GuestType.HVM))
    assert summary["chunks"] == {"-3 HVM_IDENT_PT": 1, "-9 LAST_CHECKPOINT": 1,
                                 "-11 HVM_VIRIDIAN": 1}
    params = [r.params for r in back if isinstance(r, HvmParams)]
    assert params == [((12, 0xFEFFC000),), ((9, 1),), ((5, 0xFE), (6, 0xFD), (1, 0xFC))]
    assert summary["vcpus"] == 3


def test_what_legacy_cannot_carry_is_refused_unless_dropped(tmp_path):
    records = pv_records(extra=[VcpuMsrs(0, b"\0" * 16)])
    with pytest.raises(UnsupportedError, match="VcpuMsrs"):
        write(tmp_path / "out", records)
    said = write(tmp_path / "out", records, drop=frozenset({"VcpuMsrs"}))
    assert said == ["dropped VcpuMsrs: the legacy format cannot carry it"]
    assert read_all(tmp_path / "out")[1]["variant"] == "pv"


def test_xsave_without_xcnt_is_refused_unless_dropped(tmp_path):
    records = pv_records(extra=[VcpuXsave(0, bytes(64), mask=7)])
    with pytest.raises(UnsupportedError, match="VcpuXsave"):
        write(tmp_path / "out", records)


def test_hvm_param_without_a_legacy_chunk_is_refused(tmp_path):
    records = [ImageHeader(GuestType.HVM, 0x100, variant="v2"), HvmParams(((44, 1),)), End()]
    with pytest.raises(UnsupportedError, match="HvmParam44"):
        write(tmp_path / "out", records)


def test_rewidening_keeps_pages_and_repads_the_libxl_physmap(tmp_path):
    (tmp_path / "in").write_bytes(bytes(image.hvm(64)))
    rewrite(tmp_path / "in", tmp_path / "w32", options=WriteOptions(toolstack_bits=32))
    wide, _, _ = read_all(tmp_path / "in")
    narrow, _, findings = read_all(tmp_path / "w32", Hints(toolstack_bits=32))
    assert not findings
    assert narrow[0].toolstack_bits == 32
    for before, after in zip(wide[1:], narrow[1:]):
        if isinstance(before, Toolstack):
            assert len(before.data) == 8 + 28 + 21 + 4 and len(after.data) == 8 + 28 + 21
            assert after.data == before.data[:-4]
        else:
            assert before == after
    assert len(wide) == len(narrow)
