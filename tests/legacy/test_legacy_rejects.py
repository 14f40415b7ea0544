"""One test per item of the reject list (docs/reference/recognising.rst, "what a reader refuses").

Each case takes a good image from xcformat.synth, breaks one field with struct.pack_into at the
offset the reader reported for that structure, and expects a FormatError naming the file, the
offset and the field (or, where the sheet says "suspicious"/"flag", a warning finding).
"""

from __future__ import annotations

import struct

import pytest

from helpers import marked, read_all, rewrite
from xcformat.errors import FormatError, TruncatedError
from xcformat.formats import Hints
from xcformat.records import GuestType, PageBatch
from xcformat.synth import GuestSpec, expected

PV64 = marked(GuestSpec(xsave=True, vcpus=2, pages=16, special_pages=True))
PV32 = marked(GuestSpec(toolstack_bits=32, vcpus=2, pages=16))
HVM = marked(GuestSpec(guest="hvm", pages=16, vcpus=2))
FACTS = expected(PV64.spec)
PV_HINT = Hints(guest=GuestType.PV)


def reject(tmp_path, data: bytes, field: str, hints: Hints = Hints(), error=FormatError,
           message: str = "") -> FormatError:
    path = tmp_path / "bad.img"
    path.write_bytes(data)
    with pytest.raises(error) as caught:
        read_all(path, hints)
    exc = caught.value
    assert exc.file == str(path)
    assert exc.offset is not None and 0 <= exc.offset <= len(data)
    assert exc.field is not None and exc.field.startswith(field), exc
    assert message in exc.message, exc
    return exc


def warned(tmp_path, data: bytes, field: str, hints: Hints = Hints()) -> list:
    path = tmp_path / "odd.img"
    path.write_bytes(data)
    _, _, findings = read_all(path, hints)
    hits = [f for f in findings if f.level == "warning" and f.field.startswith(field)]
    assert hits, findings
    return hits


def ext(image, block: int = 0) -> int:
    """Offset of ext-info block ``block`` relative to the "extended info" region."""
    word = image.spec.toolstack_bits // 8
    rel = word + 4
    sizes = {"vcpu": 5168 if image.spec.guest_bits == 64 else 2800, "extv": 0, "xcnt": 4}
    for name in expected(image.spec).ext_info[:block]:
        rel += 8 + sizes[name]
    return rel


# -- header --------------------------------------------------------------------------------

def test_p2m_size_zero(tmp_path):
    exc = reject(tmp_path, PV64.patch("p2m_size", 0, "<Q", 0), "p2m_size",
                 Hints(guest=GuestType.PV, toolstack_bits=64))
    assert exc.offset == 0


def test_p2m_size_above_28_bits(tmp_path):
    reject(tmp_path, PV32.patch("p2m_size", 0, "<I", 0x10000000), "p2m_size",
           Hints(toolstack_bits=32, guest=GuestType.PV))


def test_p2m_size_of_2_to_the_32_with_64_bit_words(tmp_path):
    reject(tmp_path, PV64.patch("p2m_size", 0, "<Q", 1 << 32), "p2m_size",
           Hints(toolstack_bits=64, guest=GuestType.PV))


# -- ext-info ------------------------------------------------------------------------------

def test_ext_info_tot_below_8(tmp_path):
    reject(tmp_path, PV64.patch("extended info", 8, "<I", 4), "ext_info.tot")


def test_ext_info_tot_not_the_sum_of_its_blocks(tmp_path):
    tot = struct.unpack_from("<I", PV64.data, PV64.at["extended info"] + 8)[0]
    reject(tmp_path, PV64.patch("extended info", 8, "<I", tot + 4), "ext_info", PV_HINT)


def test_ext_info_block_larger_than_what_remains(tmp_path):
    reject(tmp_path, PV64.patch("extended info", ext(PV64, 1) + 4, "<I", 30),
           "ext_info.block.size")


def test_ext_info_without_vcpu_block(tmp_path):
    reject(tmp_path, PV64.patch("extended info", ext(PV64), "<4s", b"vcpX"), "ext_info",
           message='no "vcpu"')


def test_ext_info_with_two_vcpu_blocks(tmp_path):
    reject(tmp_path, PV64.patch("extended info", ext(PV64, 1), "<4s", b"vcpu"),
           "ext_info.block.id", message="duplicate")


def test_vcpu_block_of_another_size(tmp_path):
    data = bytearray(PV64.insert("extended info", bytes(8), ext(PV64, 1)))
    base = PV64.at["extended info"]
    struct.pack_into("<I", data, base + 8, struct.unpack_from("<I", data, base + 8)[0] + 8)
    struct.pack_into("<I", data, base + ext(PV64) + 4, 5168 + 8)
    reject(tmp_path, bytes(data), "ext_info.vcpu.size")


def test_extv_with_a_size(tmp_path):
    image = marked(GuestSpec(variant="3.2", pages=16))
    data = bytearray(image.insert("extended info", bytes(4), ext(image, 2)))
    base = image.at["extended info"]
    struct.pack_into("<I", data, base + 8, struct.unpack_from("<I", data, base + 8)[0] + 4)
    struct.pack_into("<I", data, base + ext(image, 1) + 4, 4)
    reject(tmp_path, bytes(data), "ext_info.extv.size")


def test_xcnt_with_size_other_than_4(tmp_path):
    data = bytearray(PV64.insert("extended info", bytes(4), ext(PV64, 3)))
    base = PV64.at["extended info"]
    struct.pack_into("<I", data, base + 8, struct.unpack_from("<I", data, base + 8)[0] + 4)
    struct.pack_into("<I", data, base + ext(PV64, 2) + 4, 8)
    reject(tmp_path, bytes(data), "ext_info.xcnt.size")


@pytest.mark.parametrize("value", [8, 1 << 24])
def test_xcnt_value_too_small_or_absurd(tmp_path, value):
    reject(tmp_path, PV64.patch("extended info", ext(PV64, 2) + 8, "<I", value),
           "ext_info.xcnt.value")


def test_unknown_ext_info_block_is_skipped_with_a_warning_and_kept(tmp_path):
    data = bytearray(PV64.insert("p2m frame list", b"abcd" + struct.pack("<I", 2) + b"zz"))
    base = PV64.at["extended info"]
    struct.pack_into("<I", data, base + 8, struct.unpack_from("<I", data, base + 8)[0] + 10)
    warned(tmp_path, bytes(data), "ext_info.block.id")
    rewrite(tmp_path / "odd.img", tmp_path / "out.img")
    assert (tmp_path / "out.img").read_bytes() == bytes(data)


# -- p2m frame list ------------------------------------------------------------------------

def test_truncated_frame_list(tmp_path):
    reject(tmp_path, PV64.cut("p2m frame list", 4), "p2m_frame_list", error=TruncatedError)


def test_frame_list_entry_beyond_p2m_size(tmp_path):
    exc = reject(tmp_path, PV64.patch("p2m frame list", 0, "<Q", FACTS.p2m_size),
                 "p2m_frame_list")
    assert exc.offset == PV64.at["p2m frame list"]


def test_frame_list_page_not_sent_as_notab(tmp_path):
    reject(tmp_path, PV64.patch("p2m frame list", 0, "<Q", FACTS.cr3_pfn), "p2m_frame_list",
           message="sent with type 0xc")


# -- body ----------------------------------------------------------------------------------

def test_batch_larger_than_1024(tmp_path):
    reject(tmp_path, PV64.patch("batch", 0, "<i", 1025), "batch.count")


def test_unknown_negative_chunk_id(tmp_path):
    reject(tmp_path, PV64.patch("chunk -2 VCPU_INFO", 0, "<i", -21), "body.item")


def test_count_of_2_to_the_31_reads_as_negative(tmp_path):
    reject(tmp_path, PV64.patch("batch", 0, "<I", 0x80000000), "body.item")


def test_pfn_at_or_beyond_p2m_size(tmp_path):
    exc = reject(tmp_path, PV64.patch("batch", 4, "<Q", FACTS.p2m_size), "batch.entries")
    assert exc.offset == PV64.at["batch"] + 4


@pytest.mark.parametrize("nibble", [5, 6, 7, 8])
def test_invalid_page_type_nibbles(tmp_path, nibble):
    reject(tmp_path, PV64.patch("batch", 4, "<Q", nibble << 28), "batch.entries",
           message=f"{nibble:#x}")


def test_page_table_type_in_hvm(tmp_path):
    reject(tmp_path, HVM.patch("batch", 4, "<Q", 1 << 28), "batch.entries",
           message="page-table")


def test_xalloc_and_broken_in_a_stream_that_predates_4_2_are_suspicious(tmp_path):
    image = marked(GuestSpec(guest="hvm", pages=16, special_pages=True))
    data = image.without("chunk -7 TSC_INFO", 24)            # no -7: older than 4.0
    path = tmp_path / "odd.img"
    path.write_bytes(data)
    _, _, findings = read_all(path, Hints(guest=GuestType.HVM))
    assert any("XALLOC" in f.message and f.level == "warning" for f in findings)
    assert any("BROKEN" in f.message for f in findings)
    path.write_bytes(image.data)
    assert not read_all(path)[2]


def test_upper_32_bits_of_an_entry_with_64_bit_words(tmp_path):
    reject(tmp_path, PV64.patch("batch", 4 + 4, "<I", 1), "batch.entries",
           message="upper 32 bits")


def test_duplicate_pfn_in_one_batch(tmp_path):
    batch = PV64.of(PageBatch)[0]
    first, second = [i for i, t in enumerate(batch.types) if t == 0][:2]
    reject(tmp_path, PV64.patch("batch", 4 + 8 * second, "<Q", batch.pfns[first]),
           "batch.entries", message="twice")


def test_truncated_page_data(tmp_path):
    reject(tmp_path, PV64.cut("pages", 4096 * 4 + 100), "batch.pages", error=TruncatedError)


@pytest.mark.parametrize("max_id", [-1, 4096])
def test_vcpu_info_max_id_out_of_range(tmp_path, max_id):
    reject(tmp_path, PV64.patch("chunk -2 VCPU_INFO", 4, "<i", max_id),
           "vcpu_info.max_vcpu_id")


def test_vcpu_info_without_vcpu_0(tmp_path):
    reject(tmp_path, PV64.patch("chunk -2 VCPU_INFO", 8, "<Q", 2), "vcpu_info.online")


def test_vcpu_info_bits_above_max_id(tmp_path):
    reject(tmp_path, PV64.patch("chunk -2 VCPU_INFO", 8, "<Q", 0b111), "vcpu_info.online")


def test_missing_vcpu_info_in_a_stream_with_extv(tmp_path):
    reject(tmp_path, PV64.without("chunk -2 VCPU_INFO", 16), "body.vcpu_info")


def test_tsc_mode_above_3(tmp_path):
    reject(tmp_path, PV64.patch("chunk -7 TSC_INFO", 4, "<I", 4), "tsc_info.tsc_mode")


def test_value_chunk_with_nonzero_pad(tmp_path):
    reject(tmp_path, HVM.patch("chunk -3 HVM_IDENT_PT", 4, "<I", 1), "chunk-3.pad")


def test_acpi_ioports_location_other_than_0_or_1(tmp_path):
    reject(tmp_path, HVM.patch("chunk -10 HVM_ACPI_IOPORTS_LOCATION", 8, "<Q", 2),
           "chunk-10.value")


def test_only_one_of_the_ioreq_server_chunks(tmp_path):
    reject(tmp_path, HVM.without("chunk -20 HVM_NR_IOREQ_SERVER_PAGES", 16),
           "body.ioreq_server")


def test_hvm_only_chunk_in_a_pv_stream(tmp_path):
    reject(tmp_path, PV64.insert("chunk -2 VCPU_INFO", struct.pack("<iIQ", -11, 0, 1)),
           "body.item", message="HVM-only")


def test_toolstack_chunk_of_huge_length(tmp_path):
    reject(tmp_path, PV64.patch("chunk -18 TOOLSTACK", 4, "<I", 2 << 20), "toolstack.length")


@pytest.mark.parametrize("rel,fmt,value,field", [
    (8, "<I", 2, "toolstack.version"),                   # version != 1
    (12, "<I", 2, "toolstack.entries"),                  # count overruns the payload
    (8 + 8 + 24, "<I", 0, "toolstack.namelen"),          # namelen 0
    (8 + 8 + 28 + 8, "<B", ord("x"), "toolstack.name"),  # "vga.vram" loses its NUL
])
def test_libxl_toolstack_payload(tmp_path, rel, fmt, value, field):
    reject(tmp_path, HVM.patch("chunk -18 TOOLSTACK", rel, fmt, value), field)


TMEM = marked(GuestSpec(pages=16, tmem=True))


def test_tmem_counts_that_overrun_the_file(tmp_path):
    reject(tmp_path, TMEM.patch("chunk -5 TMEM", 4 + 28 + 8, "<I", 100000), "tmem.n_pages")


def test_tmem_with_an_implausible_page_size(tmp_path):
    reject(tmp_path, TMEM.patch("chunk -5 TMEM", 4 + 28 + 4, "<I", 1 | 3 << 4),
           "tmem.pool_flags")


@pytest.mark.parametrize("chunk", [-12, -13])
def test_remus_compression_in_a_file(tmp_path, chunk):
    reject(tmp_path, PV64.insert("chunk -2 VCPU_INFO", struct.pack("<i", chunk)), "body.item",
           message="compression")


# -- PV tail -------------------------------------------------------------------------------

def test_more_unmapped_pfns_than_p2m_size(tmp_path):
    reject(tmp_path, PV64.patch("unmapped pfns", 0, "<I", FACTS.p2m_size + 1),
           "unmapped_pfns.count")


def test_unmapped_pfn_beyond_p2m_size(tmp_path):
    reject(tmp_path, PV64.patch("unmapped pfns", 4, "<Q", FACTS.p2m_size),
           "unmapped_pfns.pfns")


def test_fewer_vcpu_contexts_than_map_bits(tmp_path):
    reject(tmp_path, PV64.cut("vCPU 1 context", 100), "vcpu1.context", error=TruncatedError)


def test_gdt_ents_above_8192(tmp_path):
    reject(tmp_path, PV64.patch("vCPU 0 context", 4960, "<Q", 8193), "vcpu0.context.gdt_ents")


NEVER_SENT = FACTS.p2m_size - 1


@pytest.mark.parametrize("offset,pfn,what", [
    (616, FACTS.p2m_size, "p2m_size"), (616, FACTS.cr3_pfn, "sent with type"),  # start_info
    (4832, FACTS.p2m_size, "p2m_size"), (4832, FACTS.cr3_pfn, "sent with type"),  # GDT frame
    (4832, NEVER_SENT, "never sent"),
])
def test_start_info_and_gdt_pfns(tmp_path, offset, pfn, what):
    exc = reject(tmp_path, PV64.patch("vCPU 0 context", offset, "<Q", pfn), "vcpu0.context.")
    assert what in exc.message
    assert exc.offset == PV64.at["vCPU 0 context"] + offset


@pytest.mark.parametrize("pfn,what", [(FACTS.p2m_size, "p2m_size"), (0, "sent with type 0x0"),
                                      (NEVER_SENT, "never sent")])
def test_cr3_not_a_top_level_table(tmp_path, pfn, what):
    exc = reject(tmp_path, PV64.patch("vCPU 1 context", 5008, "<Q", pfn << 12),
                 "vcpu1.context.ctrlreg.3")
    assert what in exc.message


def test_cr3_of_a_32_bit_guest_is_unfolded_before_checking(tmp_path):
    image = marked(GuestSpec(toolstack_bits=32, guest_bits=32, pages=16))
    pfn = 0x123456                       # folded: (pfn << 12 | pfn >> 20) mod 2^32
    folded = ((pfn << 12) | (pfn >> 20)) & 0xFFFFFFFF
    exc = reject(tmp_path, image.patch("vCPU 0 context", 2728, "<I", folded),
                 "vcpu0.context.ctrlreg.3")
    assert "0x123456" in exc.message


def test_xsave_size_differing_from_xcnt_is_flagged(tmp_path):
    at = PV64.at["vCPU 1 xsave"]
    data = bytearray(PV64.insert("vCPU 1 xsave", bytes(8), 16))
    struct.pack_into("<Q", data, at + 8, FACTS.xsave_size - 16 + 8)
    hits = warned(tmp_path, bytes(data), "vcpu1.xsave.size")
    assert "xcnt" in hits[0].message


def test_xsave_mask_of_zero_with_xcnt(tmp_path):
    reject(tmp_path, PV64.patch("vCPU 0 xsave", 0, "<Q", 0), "vcpu0.xsave.xfeature_mask")


def test_missing_shared_info(tmp_path):
    reject(tmp_path, PV64.cut("shared-info page"), "shared_info", error=TruncatedError)


# -- HVM tail ------------------------------------------------------------------------------

@pytest.mark.parametrize("index,name", [(0, "ioreq_pfn"), (1, "bufioreq_pfn"), (2, "store_pfn")])
def test_magic_pfns_beyond_p2m_size(tmp_path, index, name):
    p2m_size = expected(HVM.spec).p2m_size
    reject(tmp_path, HVM.patch("HVM magic pfns", 8 * index, "<Q", p2m_size), f"hvm_tail.{name}")


@pytest.mark.parametrize("length", [0, (16 << 20) + 1])
def test_hvm_context_length_zero_or_huge(tmp_path, length):
    reject(tmp_path, HVM.patch("HVM context", 0, "<I", length), "hvm_tail.context_length")


def test_hvm_context_without_header_record(tmp_path):
    reject(tmp_path, HVM.patch("HVM context", 4, "<H", 2), "hvm_context.header")


def test_hvm_context_without_end_record(tmp_path):
    length = struct.unpack_from("<I", HVM.data, HVM.at["HVM context"])[0]
    reject(tmp_path, HVM.patch("HVM context", 4 + length - 8, "<H", 3), "hvm_context.end")


def test_hvm_context_record_overrunning_the_blob(tmp_path):
    header_length = struct.unpack_from("<I", HVM.data, HVM.at["HVM context"] + 8)[0]
    reject(tmp_path, HVM.patch("HVM context", 4 + 8 + header_length + 4, "<I", 1 << 20),
           "hvm_context.descriptor.length")


# -- qemu ----------------------------------------------------------------------------------

QEMU = "qemu record DeviceModelRecord0002"


def test_unknown_qemu_signature(tmp_path):
    reject(tmp_path, HVM.patch(QEMU, 0, "<4s", b"Nope"), "qemu.signature")


def test_qemu_length_beyond_the_file(tmp_path):
    length = struct.unpack_from("<I", HVM.data, HVM.at[QEMU] + 21)[0]
    reject(tmp_path, HVM.patch(QEMU, 21, "<I", length + 1), "qemu.length")


def test_xend_qemu_record_without_qevm(tmp_path):
    image = marked(GuestSpec(guest="hvm", pages=16, qemu="QemuDeviceModelRecord"))
    reject(tmp_path, image.patch("qemu record QemuDeviceModelRecord", 21, "<4s", b"QEVN"),
           "qemu.data")


# -- end of stream -------------------------------------------------------------------------

def test_bytes_after_the_tail_of_a_last_checkpoint_pv_stream(tmp_path):
    reject(tmp_path, PV64.data + bytes(4), "trailer")


def test_bytes_after_a_length_prefixed_qemu_record(tmp_path):
    reject(tmp_path, HVM.data + b"junk", "trailer")


def test_partial_last_checkpoint_falls_back_to_the_previous_one(tmp_path):
    from xcformat.synth import legacy_bytes
    spec = GuestSpec(variant="remus", pages=16, checkpoints=3)
    whole = legacy_bytes(GuestSpec(variant="remus", pages=16, checkpoints=2))
    path = tmp_path / "remus.img"
    path.write_bytes(legacy_bytes(spec)[:len(whole) + 3000])
    _, summary, findings = read_all(path)
    assert summary["checkpoints"] == 2
    assert any(f.field == "checkpoint" and "incomplete" in f.message for f in findings)
    rewrite(path, tmp_path / "out.img")
    assert (tmp_path / "out.img").read_bytes() == whole
    assert read_all(tmp_path / "out.img")[1] == summary     # the dropped part left no trace
