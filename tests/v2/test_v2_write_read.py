"""Writing records as v2 and reading them back: byte-identical rewrites, pages, alignment."""

import struct

import pytest

from v2_guests import hvm_guest, pv_guest, vga_physmap, xl_wrapper
from v2_helpers import page_offsets, pages_by_pfn, read, write

from xcformat.formats import sniff
from xcformat.records import (EmulatorContext, EmulatorXenstore, HvmParams, ImageHeader,
                              P2MFrames, PageBatch, Physmap, Provenance, TscInfo, VcpuInfo,
                              VcpuXsave, Wrapper)

CASES = {
    "pv64": (lambda: pv_guest(), {}),
    "pv32": (lambda: pv_guest(bits=32, pages=3000, batch_size=1024), {}),
    "hvm-libxl": (lambda: hvm_guest(), {"wrap": "libxl"}),
    "hvm-xl": (lambda: hvm_guest(wrapper=xl_wrapper()), {}),
    "pv-aligned": (lambda: pv_guest(pages=2100, batch_size=1024), {"align": True}),
    "hvm-xl-aligned": (lambda: hvm_guest(pages=700, wrapper=xl_wrapper(b"name='x'\n")),
                       {"align": True}),
}


@pytest.mark.parametrize("case", CASES)
def test_rewriting_our_own_output_is_byte_identical(tmp_path, case):
    make, options = CASES[case]
    first = write(tmp_path / "a", make(), **options)
    records, findings = read(tmp_path / "a")
    assert [f for f in findings if f.level == "error"] == []
    second = write(tmp_path / "b", records, **options)
    assert first == second


@pytest.mark.parametrize("case", CASES)
def test_pages_survive_and_the_sniffer_claims_the_file(tmp_path, case):
    make, options = CASES[case]
    source = make()
    data = write(tmp_path / "a", source, **options)
    verdict = sniff(data[:65536])[0]
    assert verdict.format == "v2" and verdict.certain
    records, _ = read(tmp_path / "a")
    assert pages_by_pfn(records) == pages_by_pfn(source)


def test_pv_facts_reach_the_records(tmp_path):
    write(tmp_path / "a", pv_guest(pages=1500, bits=32, vcpus=(0, 2, 3)))
    records, findings = read(tmp_path / "a")
    header = records[0]
    assert isinstance(header, ImageHeader)
    assert (header.guest.value, header.guest_bits, header.p2m_size) == ("pv", 32, 1500)
    assert header.provenance == Provenance("v2", 3) and header.xen_version == (0, 1)
    assert isinstance(records[1], P2MFrames) and records[1].frames == (0, 1)
    info = [r for r in records if isinstance(r, VcpuInfo)]
    assert info == [VcpuInfo(3, frozenset({0, 2, 3}))]
    assert read.summary["stream_version"] == 3 and read.summary["converted"]


def test_hvm_p2m_size_comes_from_the_prepass_and_params_are_merged(tmp_path):
    write(tmp_path / "a", hvm_guest(pages=40), wrap="libxl")
    records, _ = read(tmp_path / "a")
    header = records[0]
    # highest pfn named: the store pfn param (40 + 0x12)
    assert header.p2m_size == 40 + 0x12 + 1 and header.provenance.label == "v3+libxl"
    params = [r for r in records if isinstance(r, HvmParams)]
    assert params == [HvmParams(((12, 0xFEFFC000), (9, 1), (5, 56), (6, 57), (1, 58)))]
    assert isinstance(records[-2], EmulatorContext) and records[-2].data.startswith(b"QEVM")


def test_tsc_fields_round_trip_in_v2_order(tmp_path):
    data = write(tmp_path / "a", pv_guest())
    at = data.index(struct.pack("<II", 8, 24))
    assert struct.unpack_from("<IIQII", data, at + 8) == (0, 2_000_000, 123456789, 1, 0)
    records, _ = read(tmp_path / "a")
    assert TscInfo(0, 123456789, 2_000_000, 1) in records


def test_per_vcpu_xsave_sizes_are_kept(tmp_path):
    write(tmp_path / "a", pv_guest(vcpus=(0, 1), xsave_sizes={0: 832, 1: 1088}))
    records, _ = read(tmp_path / "a")
    assert [len(r.data) for r in records if isinstance(r, VcpuXsave)] == [832, 1088]


def test_toolstack_physmap_becomes_xenstore_keys_in_libxl(tmp_path):
    data = write(tmp_path / "a", hvm_guest(physmap=vga_physmap()), wrap="libxl")
    keys = (b"physmap/f0000000/start_addr\0f1000000\0physmap/f0000000/size\0"
            b"800000\0physmap/f0000000/name\0vga.vram\0")
    # EMULATOR_XENSTORE_DATA (libxl type 2): header, emulator id 0, index 0, the keys.
    assert struct.pack("<IIII", 2, 8 + len(keys), 0, 0) + keys in data
    records, findings = read(tmp_path / "a")
    assert [r for r in records if isinstance(r, Physmap)] == [vga_physmap()]
    assert not [r for r in records if isinstance(r, EmulatorXenstore)]
    assert not [f for f in findings if f.level == "error"]


@pytest.mark.parametrize("case", ["pv-aligned", "hvm-xl-aligned"])
def test_align_puts_every_page_on_a_4096_boundary(tmp_path, case):
    make, options = CASES[case]
    data = write(tmp_path / "a", make(), **options)
    start = data.index(b"\xff" * 8 + b"XENF")
    offsets = page_offsets(data, start)
    assert offsets and all(o % 4096 == 0 for o in offsets)
    records, findings = read(tmp_path / "a")
    assert not [f for f in findings if f.level == "error"]


@pytest.mark.parametrize("config_len", range(0, 9))
def test_align_with_xl_pads_the_optional_data_for_any_config_length(tmp_path, config_len):
    source = hvm_guest(pages=5, wrapper=xl_wrapper(b"x" * config_len, json=False))
    data = write(tmp_path / "a", source, align=True)
    start = data.index(b"\xff" * 8 + b"XENF")
    assert start % 8 == 0
    assert all(o % 4096 == 0 for o in page_offsets(data, start))
    records, _ = read(tmp_path / "a")
    wrapper = records[0]
    assert isinstance(wrapper, Wrapper) and wrapper.config == b"x" * config_len


def test_align_realigns_after_other_records_and_fills_the_last_batch(tmp_path):
    from v2_guests import batch
    from xcformat.records import End
    source = pv_guest(pages=30, batch_size=30)
    # a TSC record between two page runs forces a realignment
    source.insert(4, batch([40, 41], [0, 0xF]))
    source.insert(4, TscInfo(0, 1, 2, 3))
    source[0] = ImageHeader(source[0].guest, 64, guest_bits=64, provenance=Provenance("v2", 3))
    data = write(tmp_path / "a", [r for r in source if not isinstance(r, End)] + [End()],
                 align=True)
    offsets = page_offsets(data, 0)
    assert offsets and all(o % 4096 == 0 for o in offsets)
    records, _ = read(tmp_path / "a")
    # re-sent filler pages carry identical content: the last copy of each pfn is the original
    assert pages_by_pfn(records) == pages_by_pfn(source)


def test_align_fills_the_last_batch_from_the_previous_record_without_repeating_a_pfn(tmp_path):
    write(tmp_path / "a", pv_guest(pages=1300, batch_size=1024), align=True)
    records, _ = read(tmp_path / "a")
    batches = [r for r in records if isinstance(r, PageBatch)]
    assert len(batches) == 2 and len(batches[1].pfns) == 510
    assert all(len(set(b.pfns)) == len(b.pfns) for b in batches)
    assert pages_by_pfn(records) == pages_by_pfn(pv_guest(pages=1300, batch_size=1024))


def test_align_starts_a_new_record_when_a_pfn_is_sent_again(tmp_path):
    from v2_guests import batch, page
    source = pv_guest(pages=1200, batch_size=1024)
    resend = PageBatch((5, 6), bytes(2), memoryview(b"\1" * 4096 + b"\2" * 4096))
    source.insert(5, resend)
    write(tmp_path / "a", source, align=True)
    records, _ = read(tmp_path / "a")
    batches = [r for r in records if isinstance(r, PageBatch)]
    assert all(len(set(b.pfns)) == len(b.pfns) for b in batches)
    final = pages_by_pfn(records)
    assert final[5] == b"\1" * 4096 and final[6] == b"\2" * 4096 and final[7] == page(7)
