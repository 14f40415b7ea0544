"""What the v2 writer refuses, drops only when told, and maps from legacy records."""

import pytest

from v2_guests import batch, hvm_guest, pv_guest, vga_physmap, xl_wrapper
from v2_helpers import read, write

from xcformat.errors import UnsupportedError
from xcformat.legacy import FORMAT as legacy_format
from xcformat.synth import GuestSpec, legacy_bytes
from xcformat.testing import read_records
from xcformat.records import (EmulatorContext, GuestType, HvmParams, ImageHeader, LastCheckpoint,
                              Opaque, PageBatch, Physmap, Provenance, Toolstack, UnmappedPfns,
                              VcpuContext, Wrapper)


def with_inserted(records, index, *extra):
    return records[:index] + list(extra) + records[index:]


@pytest.mark.parametrize("record,kind", [
    (Opaque("legacy", "tmem", b"x"), "tmem"),
    (Opaque("legacy", "verify-mode"), "verify"),
    (Opaque("legacy", "tmem-extra", b"x"), "tmem"),
    (Opaque("legacy", "compressed-data", b"x"), "unknown-record"),
    (UnmappedPfns((5, 6)), "unmapped-pfns"),
])
def test_what_v2_cannot_carry_is_refused_or_dropped_when_named(tmp_path, record, kind):
    source = with_inserted(pv_guest(), 5, record)
    with pytest.raises(UnsupportedError, match=f"--drop {kind}"):
        write(tmp_path / "a", source)
    assert not (tmp_path / "a").exists()
    write(tmp_path / "a", source, drop=frozenset({kind}))
    assert any(kind in message for message in write.said)
    read(tmp_path / "a")


def test_empty_unmapped_list_and_stateless_markers_need_no_drop(tmp_path):
    source = with_inserted(pv_guest(), 5, UnmappedPfns(()), LastCheckpoint())
    write(tmp_path / "a", source)
    assert write.said == []


def test_xend_wrapper_config_needs_a_drop_and_xl_wrapper_is_kept(tmp_path):
    xend = [Wrapper("xend", b"(domain (name x))")] + hvm_guest()
    with pytest.raises(UnsupportedError, match="--drop config"):
        write(tmp_path / "a", xend, wrap="libxl")
    write(tmp_path / "a", xend, wrap="libxl", drop=frozenset({"config"}))
    records, _ = read(tmp_path / "a")
    assert isinstance(records[0], ImageHeader)
    with pytest.raises(UnsupportedError, match="--drop config"):
        write(tmp_path / "b", hvm_guest(wrapper=xl_wrapper()), wrap="libxc")


def test_emulator_state_needs_libxl_or_a_drop(tmp_path):
    with pytest.raises(UnsupportedError, match="--drop emulator"):
        write(tmp_path / "a", hvm_guest(), wrap="libxc")
    write(tmp_path / "a", hvm_guest(), wrap="libxc", drop=frozenset({"emulator"}))
    records, _ = read(tmp_path / "a")
    assert not any(isinstance(r, EmulatorContext) for r in records)


def test_every_qemu_record_variant_becomes_emulator_context(tmp_path):
    for signature in (b"QemuDeviceModelRecord", b"DeviceModelRecord0002",
                      b"RemusDeviceModelState"):
        source = hvm_guest()
        source[-2] = EmulatorContext(b"QEVM-state", signature=signature)
        write(tmp_path / "a", source, wrap="libxl")
        records, _ = read(tmp_path / "a")
        assert [r.data for r in records if isinstance(r, EmulatorContext)] == [b"QEVM-state"]


@pytest.mark.parametrize("width", [32, 64])
def test_a_legacy_physmap_of_either_toolstack_width_becomes_its_xenstore_keys(tmp_path, width):
    """The legacy reader reads the blob at the stream's width; the v2 writer writes keys from
    the entries, with no width to guess."""
    legacy = tmp_path / "in"
    legacy.write_bytes(legacy_bytes(GuestSpec(guest="hvm", pages=16, toolstack_bits=width)))
    source, _, _ = read_records(legacy, legacy_format)
    physmap = next(r for r in source if isinstance(r, Physmap))
    assert physmap.blob_bits == width and physmap.entries[0].name == b"vga.vram"
    write(tmp_path / "a", source, wrap="libxl")
    records, _ = read(tmp_path / "a")
    assert [r for r in records if isinstance(r, Physmap)] == [physmap]


def test_an_empty_pv_physmap_is_left_out_and_other_toolstack_data_refused(tmp_path):
    write(tmp_path / "b", with_inserted(pv_guest(), 5, Physmap(())))
    assert not [r for r in read(tmp_path / "b")[0] if isinstance(r, (Physmap, Toolstack))]
    with pytest.raises(UnsupportedError, match="--drop toolstack"):
        write(tmp_path / "c", with_inserted(pv_guest(), 5, Physmap((vga_physmap().entries))))
    with pytest.raises(UnsupportedError, match="not a libxl physmap.*--drop toolstack"):
        write(tmp_path / "d", with_inserted(hvm_guest(), 5, Toolstack(b"\x02\0\0\0")),
              wrap="libxl")


def test_legacy_xtab_fillers_are_left_out_and_xtab_entries_kept_whatever_the_source(tmp_path):
    filled = PageBatch((0, 2), bytes([0, 0xD]), memoryview(bytes(4096)),
                       fillers=((1, 0x0ABCDEF),))
    write(tmp_path / "a", with_inserted(pv_guest(pages=8), 3, filled))
    records, _ = read(tmp_path / "a")
    seen = [p for r in records if isinstance(r, PageBatch) for p in r.pfns]
    assert 0x0ABCDEF not in seen and 2 in seen
    for variant in ("legacy-pv", "v3"):
        ours = with_inserted(pv_guest(pages=8, variant=variant), 3,
                             batch([0, 5, 2], [0, 0xF, 0xD]))
        write(tmp_path / "b", ours)
        records, _ = read(tmp_path / "b")
        assert 5 in [p for r in records if isinstance(r, PageBatch) for p in r.pfns]


def test_a_legacy_stream_with_mfn_bits_in_its_xtab_entries_converts_without_them(tmp_path):
    legacy = tmp_path / "in"
    legacy.write_bytes(legacy_bytes(GuestSpec(pages=20, variant="3.2", special_pages=True)))
    source, _, _ = read_records(legacy, legacy_format)
    junk = {bits for r in source if isinstance(r, PageBatch) for _, bits in r.fillers}
    assert junk - {0}, "the 3.2 saver leaves MFN bits in XTAB entries"
    assert all(0xF not in r.types for r in source if isinstance(r, PageBatch))
    write(tmp_path / "a", source, drop=frozenset({"unmapped-pfns"}))
    records, _ = read(tmp_path / "a")
    written = [(p, t) for r in records if isinstance(r, PageBatch) for p, t in zip(r.pfns, r.types)]
    given = [(p, t) for r in source if isinstance(r, PageBatch) for p, t in zip(r.pfns, r.types)]
    assert written == given and not any(t == 0xF for _, t in written)


def test_hvm_params_from_chunks_and_tail_become_one_record_before_the_context(tmp_path):
    data = write(tmp_path / "a", hvm_guest(), wrap="libxl")
    assert data.count(b"\x0a\x00\x00\x00") >= 1
    records, _ = read(tmp_path / "a")
    kinds = [type(r).__name__ for r in records]
    assert kinds.count("HvmParams") == 1
    assert kinds.index("HvmParams") < kinds.index("HvmContext")
    params = dict([r for r in records if isinstance(r, HvmParams)][0].params)
    assert params == {12: 0xFEFFC000, 9: 1, 5: 56, 6: 57, 1: 58}


def test_version_2_input_stays_version_2_and_guest_mismatches_are_refused(tmp_path):
    data = write(tmp_path / "a", pv_guest(variant="v2", xen_version=(4, 7)))
    assert data[12:16] == b"\0\0\0\2"
    read(tmp_path / "a")
    assert "STATIC_DATA_END" not in read.summary["record_counts"]
    assert data[32:40] == (4).to_bytes(4, "little") + (7).to_bytes(4, "little")
    with pytest.raises(UnsupportedError):
        write(tmp_path / "b", with_inserted(hvm_guest(), 2, VcpuContext(0, bytes(5168))),
              wrap="libxl")


def test_pv_without_a_width_is_refused(tmp_path):
    source = pv_guest()
    source[0] = ImageHeader(GuestType.PV, 40, provenance=Provenance("legacy", layout="pv"))
    with pytest.raises(UnsupportedError, match="width"):
        write(tmp_path / "a", source)


def test_version_2_can_be_asked_for_from_any_input(tmp_path):
    from xcformat.records import CpuPolicy
    source = with_inserted(pv_guest(), 1, CpuPolicy("cpuid", bytes(24)))
    with pytest.raises(UnsupportedError, match="--drop cpu-policy"):
        write(tmp_path / "a", source, version=2)
    data = write(tmp_path / "a", source, version=2, drop=frozenset({"cpu-policy"}))
    assert data[12:16] == b"\0\0\0\2"
    records, findings = read(tmp_path / "a")
    assert not [f for f in findings if f.level == "error"]
    assert records[0].provenance == Provenance("v2", 2)
    assert not any(isinstance(r, CpuPolicy) for r in records)
    # and a v2 input can be raised to version 3
    assert write(tmp_path / "b", records, version=3)[12:16] == b"\0\0\0\3"


def test_a_cpu_policy_goes_to_its_own_record_type_and_an_unknown_kind_is_refused(tmp_path):
    from xcformat.records import CpuPolicy
    source = with_inserted(pv_guest(), 1, CpuPolicy("msr", bytes(16)),
                           CpuPolicy("cpuid", bytes(24)))
    write(tmp_path / "a", source)
    records, _ = read(tmp_path / "a")
    assert [(r.kind, len(r.data)) for r in records if isinstance(r, CpuPolicy)] == \
        [("msr", 16), ("cpuid", 24)]
    with pytest.raises(UnsupportedError, match="a CPU policy of kind 'xsave': v3 carries "
                                               "cpuid and msr policies"):
        write(tmp_path / "b", with_inserted(pv_guest(), 1, CpuPolicy("xsave", bytes(8))))
