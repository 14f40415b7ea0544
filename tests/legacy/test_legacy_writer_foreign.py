"""The legacy writer fed with records in another format's order (as a v2 reader yields them).

A synthetic legacy image's records are regrouped the way the v2 stream orders them (no
ext-info, no -2, no -9, the tail before TSC info and the HVM params after the context) and
labelled as coming from another format; the written image must read back with the same pages,
contexts and parameters.
"""

import dataclasses

import pytest

from helpers import read_all, rewrite
from xcformat.errors import UnsupportedError
from xcformat.formats import Hints, WriteOptions
from xcformat.io import open_sink
from xcformat.legacy.writer import LegacyWriter
from xcformat.legacy.options import LegacyOptions
from xcformat.v2.physmap import from_keys
from xcformat.records import (EmulatorXenstore, End, GuestType, HvmContext, HvmParams,
                              ImageHeader, LastCheckpoint, PageBatch, Physmap, Provenance,
                              PvExtInfo, Toolstack, TscInfo, VcpuContext, VcpuExtended, VcpuInfo,
                              VcpuMsrs, VcpuXsave)
from xcformat.synth import GuestSpec, legacy_bytes

LEGACY_ONLY = (PvExtInfo, VcpuInfo, LastCheckpoint, Toolstack)


def write(path, records, toolstack_bits=None, **options):
    said = []
    with open_sink(str(path)) as sink:
        LegacyWriter(sink, WriteOptions(say=said.append, **options, format_options=LegacyOptions(
            toolstack_bits=toolstack_bits))).write(records)
    return said


def foreign(tmp_path, spec: GuestSpec) -> list:
    """The image's records as another format would deliver them."""
    (tmp_path / "src.img").write_bytes(legacy_bytes(spec))
    records, _, _ = read_all(tmp_path / "src.img", Hints(guest=GuestType(spec.guest)))
    header = dataclasses.replace(records[0], provenance=Provenance("v2", 2))
    body = [r for r in records[1:-1] if not isinstance(r, LEGACY_ONLY + (TscInfo, HvmParams))]
    params = tuple(p for r in records if isinstance(r, HvmParams) for p in r.params)
    tsc = [r for r in records if isinstance(r, TscInfo)]
    return [header, *body, *tsc, *([HvmParams(params)] if params else []), End()]


def same_content(a: list, b: list, kinds) -> None:
    for kind in kinds:
        assert [r for r in a if isinstance(r, kind)] == [r for r in b if isinstance(r, kind)]


@pytest.mark.parametrize("width", [None, 32])
def test_pv_from_another_format_gets_ext_info_vcpu_info_and_last_checkpoint(tmp_path, width):
    records = foreign(tmp_path, GuestSpec(pages=16, vcpus=(0, 2)))
    write(tmp_path / "out", records, toolstack_bits=width)
    back, summary, findings = read_all(tmp_path / "out")
    assert not findings
    header = back[0]
    assert (header.guest, header.guest_bits, header.toolstack_bits) == (GuestType.PV, 64,
                                                                         width or 64)
    assert [b for b, _ in back[1].blocks] == [b"vcpu", b"extv"]
    assert next(r for r in back if isinstance(r, VcpuInfo)).online == {0, 2}
    assert summary["chunks"]["-9 LAST_CHECKPOINT"] == 1
    same_content(records, back, (PageBatch, VcpuContext, VcpuExtended, TscInfo))


def test_hvm_params_arriving_after_the_context_become_chunks_and_tail_pfns(tmp_path):
    records = foreign(tmp_path, GuestSpec(guest="hvm", pages=16, vcpus=3))
    kinds = [type(r) for r in records]
    assert kinds.index(HvmParams) > kinds.index(HvmContext)
    write(tmp_path / "out", records, toolstack_bits=32)
    back, summary, _ = read_all(tmp_path / "out", Hints(guest=GuestType.HVM))
    params = [p for r in back if isinstance(r, HvmParams) for p in r.params]
    assert sorted(params) == sorted(records[-2].params)
    assert summary["vcpus"] == 3 and summary["chunks"]["-9 LAST_CHECKPOINT"] == 1
    same_content(records, back, (PageBatch, HvmContext))


def test_what_legacy_cannot_carry_is_refused_unless_dropped(tmp_path):
    records = foreign(tmp_path, GuestSpec(pages=16))
    records.insert(-2, VcpuMsrs(0, bytes(16)))
    with pytest.raises(UnsupportedError, match="--drop msrs"):
        write(tmp_path / "out", records)
    said = write(tmp_path / "out", records, drop=frozenset({"msrs"}))
    assert said == ["dropped vCPU MSR lists (--drop msrs)"]
    assert read_all(tmp_path / "out")[1]["variant"] == "pv"


def test_xsave_size_in_the_header_becomes_xcnt(tmp_path):
    records = foreign(tmp_path, GuestSpec(pages=16, vcpus=2, xsave=True))
    xsave = [r for r in records if isinstance(r, VcpuXsave)]
    records[0] = dataclasses.replace(records[0], xsave_size=len(xsave[0].data))
    write(tmp_path / "out", records)
    back, summary, findings = read_all(tmp_path / "out")
    assert not findings
    assert dict(back[1].blocks)[b"xcnt"] == (16 + len(xsave[0].data)).to_bytes(4, "little")
    assert [r for r in back if isinstance(r, VcpuXsave)] == xsave


def test_xsave_without_a_size_before_the_frames_is_refused(tmp_path):
    records = foreign(tmp_path, GuestSpec(pages=16, xsave=True))
    records[0] = dataclasses.replace(records[0], xsave_size=None)
    assert any(isinstance(r, VcpuXsave) for r in records)
    with pytest.raises(UnsupportedError, match="xsave.*read it from a file.*--drop xsave"):
        write(tmp_path / "out", records)


def test_hvm_param_without_a_legacy_chunk_is_refused(tmp_path):
    records = [ImageHeader(GuestType.HVM, 0x100, provenance=Provenance("v2", 2)),
               HvmParams(((44, 1),)),
               HvmContext(b"ctx"), End()]
    with pytest.raises(UnsupportedError, match=r"^legacy cannot carry HVM parameter 44; "
                                               r"pass --drop hvm-params"):
        write(tmp_path / "out", records)


def test_an_hvm_image_without_its_hvm_context_is_refused(tmp_path):
    records = [r for r in foreign(tmp_path, GuestSpec(guest="hvm", pages=16))
               if not isinstance(r, HvmContext)]
    with pytest.raises(UnsupportedError, match="HVM context"):
        write(tmp_path / "out", records)


def test_rewidening_keeps_everything_and_repads_the_libxl_physmap(tmp_path):
    (tmp_path / "in").write_bytes(legacy_bytes(GuestSpec(guest="hvm", pages=16)))
    rewrite(tmp_path / "in", tmp_path / "w32",
            options=WriteOptions(format_options=LegacyOptions(toolstack_bits=32)))
    wide, _, _ = read_all(tmp_path / "in")
    narrow, _, findings = read_all(tmp_path / "w32", Hints(toolstack_bits=32))
    assert not findings and narrow[0].toolstack_bits == 32 and len(wide) == len(narrow)
    for before, after in zip(wide[1:], narrow[1:]):
        assert before == after
        if isinstance(before, Physmap):
            assert (before.blob_bits, after.blob_bits) == (64, 32) and before.entries
    assert (tmp_path / "w32").read_bytes() == legacy_bytes(GuestSpec(guest="hvm", pages=16,
                                                                     toolstack_bits=32))


@pytest.mark.parametrize("width", [32, 64])
def test_libxl_physmap_xenstore_keys_become_the_toolstack_chunk(tmp_path, width):
    """The physmap v2 reads from xenstore keys (no width of its own) is laid out for the
    stream's width: the chunk libxl of that width wrote, byte for byte."""
    (tmp_path / "in").write_bytes(legacy_bytes(GuestSpec(guest="hvm", pages=16,
                                                         toolstack_bits=width)))
    records, _, _ = read_all(tmp_path / "in")
    original = next(r for r in records if isinstance(r, Physmap))
    keys = from_keys(b"physmap/f0000000/start_addr\0f0000000\0physmap/f0000000/size\0"
                     b"800000\0physmap/f0000000/name\0vga.vram\0")
    assert keys == original and keys.blob_bits is None and original.blob_bits == width
    regrouped = [r if not isinstance(r, Physmap) else keys for r in records]
    write(tmp_path / "out", regrouped)
    assert (tmp_path / "out").read_bytes() == (tmp_path / "in").read_bytes()


def test_xenstore_keys_legacy_cannot_hold_are_refused_or_dropped(tmp_path):
    records = [ImageHeader(GuestType.HVM, 0x100, provenance=Provenance("v2", 2)),
               EmulatorXenstore(b"device-model/0/state\0running\0"),
               next(r for r in foreign(tmp_path, GuestSpec(guest="hvm", pages=16))
                    if isinstance(r, HvmContext)), End()]
    with pytest.raises(UnsupportedError, match="device-model/0/state"):
        write(tmp_path / "out", records)
    said = write(tmp_path / "out", records, drop=frozenset({"emulator"}))
    assert said[0].startswith("dropped the device model's state or xenstore keys (")
    assert said[0].endswith("(--drop emulator)")
