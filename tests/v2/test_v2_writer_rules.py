"""What the v2 writer refuses, drops only when told, and maps from legacy records."""

import pytest

from v2_guests import batch, hvm_guest, physmap, pv_guest, xl_wrapper
from v2_helpers import read, write

from xcformat.errors import UnsupportedError
from xcformat.records import (EmulatorContext, EmulatorXenstore, GuestType, HvmParams,
                              ImageHeader, LastCheckpoint, Opaque, PageBatch, UnmappedPfns, VcpuContext, Wrapper)


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


def test_physmap_from_a_32_bit_toolstack_and_pv_empty_toolstack(tmp_path):
    blob = physmap([(0x10, 0x20, 0x30, b"rom")], width=32)
    source = hvm_guest(toolstack=blob)
    source[0] = ImageHeader(GuestType.HVM, 100, toolstack_bits=32, variant="legacy-4.5")
    write(tmp_path / "a", source, wrap="libxl")
    records, _ = read(tmp_path / "a")
    keys = [r for r in records if isinstance(r, EmulatorXenstore)][0].data
    assert keys.split(b"\0")[:2] == [b"physmap/10/start_addr", b"20"]
    from xcformat.records import Toolstack
    write(tmp_path / "b", with_inserted(pv_guest(), 5, Toolstack(physmap([]))))
    blob64 = physmap([(0x10, 0x20, 0x30, b"rom")], width=64)
    with pytest.raises(UnsupportedError, match="--drop toolstack"):
        write(tmp_path / "c", with_inserted(pv_guest(), 5, Toolstack(blob64)))


def test_legacy_xtab_entries_are_dropped_but_v2_ones_kept(tmp_path):
    entries = batch([0, 0x0ABCDEF, 2], [0, 0xF, 0xD])
    legacy = with_inserted(pv_guest(pages=8), 3, entries)
    write(tmp_path / "a", legacy)
    records, _ = read(tmp_path / "a")
    seen = [p for r in records if isinstance(r, PageBatch) for p in r.pfns]
    assert 0x0ABCDEF not in seen and 2 in seen
    ours = with_inserted(pv_guest(pages=8, variant="v3"), 3, batch([0, 5, 2], [0, 0xF, 0xD]))
    write(tmp_path / "b", ours)
    records, _ = read(tmp_path / "b")
    assert 5 in [p for r in records if isinstance(r, PageBatch) for p in r.pfns]


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
    source[0] = ImageHeader(GuestType.PV, 40, variant="legacy-3.0")
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
    assert records[0].variant == "v2" and not any(isinstance(r, CpuPolicy) for r in records)
    # and a v2 input can be raised to version 3
    assert write(tmp_path / "b", records, version=3)[12:16] == b"\0\0\0\3"
