"""One test per item of the fact sheet's reject list (legacy-save-stream.md §11).

Each case builds a good image, breaks one field with struct.pack_into, and expects a FormatError
naming the file, the offset and the field (or, where the sheet says "suspicious"/"flag", a
warning finding).
"""

from __future__ import annotations

import struct

import pytest

import image
from helpers import read_all
from xcformat.errors import FormatError, TruncatedError
from xcformat.formats import Hints
from xcformat.records import GuestType

PV = Hints(guest=GuestType.PV)


def patch(img: image.Image, name: str, rel: int, fmt: str, *values) -> bytes:
    data = bytearray(img.data)
    struct.pack_into(fmt, data, img.at[name] + rel, *values)
    return bytes(data)


def cut(img: image.Image, name: str, rel: int = 0) -> bytes:
    return bytes(img.data[:img.at[name] + rel])


def insert(img: image.Image, name: str, data: bytes, rel: int = 0) -> bytes:
    at = img.at[name] + rel
    return bytes(img.data[:at]) + data + bytes(img.data[at:])


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
    assert message in exc.message
    return exc


def warned(tmp_path, data: bytes, field: str, hints: Hints = Hints()) -> list:
    path = tmp_path / "odd.img"
    path.write_bytes(data)
    _, _, findings = read_all(path, hints)
    hits = [f for f in findings if f.level == "warning" and f.field.startswith(field)]
    assert hits, findings
    return hits


W64 = image.pv(64, 64)
W32 = image.pv(32, 32)
HVM = image.hvm(64)


# -- header --------------------------------------------------------------------------------

def test_p2m_size_zero(tmp_path):
    exc = reject(tmp_path, patch(W64, "p2m_size", 0, "<Q", 0), "p2m_size",
                 Hints(guest=GuestType.PV, toolstack_bits=64))
    assert exc.offset == 0


def test_p2m_size_above_28_bits(tmp_path):
    reject(tmp_path, patch(W32, "p2m_size", 0, "<I", 0x10000000), "p2m_size",
           Hints(toolstack_bits=32, guest=GuestType.PV))


def test_p2m_size_of_2_to_the_32_with_64_bit_words(tmp_path):
    reject(tmp_path, patch(W64, "p2m_size", 0, "<Q", 1 << 32), "p2m_size",
           Hints(toolstack_bits=64, guest=GuestType.PV))


# -- ext-info ------------------------------------------------------------------------------

def test_ext_info_tot_below_8(tmp_path):
    reject(tmp_path, patch(W64, "ext", 8, "<I", 4), "ext_info.tot")


def test_ext_info_tot_not_the_sum_of_its_blocks(tmp_path):
    tot = struct.unpack_from("<I", W64.data, W64.at["ext"] + 8)[0]
    reject(tmp_path, patch(W64, "ext", 8, "<I", tot + 4), "ext_info", PV)


def test_ext_info_block_larger_than_what_remains(tmp_path):
    reject(tmp_path, patch(W64, "ext.blocks", 4, "<I", 6000), "ext_info.block.size")


def test_ext_info_without_vcpu_block(tmp_path):
    reject(tmp_path, bytes(image.pv(64, 64, ext=("extv", "xcnt"))), "ext_info",
           message='no "vcpu"')


def test_ext_info_with_two_vcpu_blocks(tmp_path):
    reject(tmp_path, bytes(image.pv(64, 64, ext=("vcpu", "vcpu", "extv"))),
           "ext_info.block.id", message="duplicate")


def test_vcpu_block_of_another_size(tmp_path):
    img = image.pv(32, 32, ext=("vcpu",), chunks=False)
    data = bytearray(img.data)
    struct.pack_into("<I", data, img.at["ext"] + 4, 2816 + 4)           # tot
    struct.pack_into("<I", data, img.at["ext.blocks"] + 4, 2800 + 4)    # "vcpu" size
    data[img.at["ext.blocks"] + 8:img.at["ext.blocks"] + 8] = bytes(4)
    reject(tmp_path, bytes(data), "ext_info.vcpu.size")


def test_extv_with_a_size(tmp_path):
    img = image.pv(64, 64, ext=("vcpu", "extv"))
    at = img.at["ext.blocks"] + 8 + 5168 + 4
    data = bytearray(img.data)
    struct.pack_into("<I", data, at, 4)
    struct.pack_into("<I", data, img.at["ext"] + 8, 5168 + 8 + 8 + 4)
    data[at + 4:at + 4] = bytes(4)
    reject(tmp_path, bytes(data), "ext_info.extv.size")


def test_xcnt_with_size_other_than_4(tmp_path):
    img = image.pv(64, 64)
    at = img.at["ext.blocks"] + 8 + 5168 + 8 + 4
    data = bytearray(img.data)
    struct.pack_into("<I", data, at, 8)
    struct.pack_into("<I", data, img.at["ext"] + 8, 5168 + 8 + 8 + 16)
    data[at + 4:at + 4] = bytes(4)
    reject(tmp_path, bytes(data), "ext_info.xcnt.size")


@pytest.mark.parametrize("value", [8, 1 << 24])
def test_xcnt_value_too_small_or_absurd(tmp_path, value):
    reject(tmp_path, patch(W64, "ext.blocks", 8 + 5168 + 8 + 8, "<I", value),
           "ext_info.xcnt.value")


def test_unknown_ext_info_block_is_skipped_with_a_warning_and_kept(tmp_path):
    img = image.pv(64, 64)
    data = bytearray(img.data)
    tot = struct.unpack_from("<I", data, img.at["ext"] + 8)[0]
    struct.pack_into("<I", data, img.at["ext"] + 8, tot + 10)
    data[img.at["frames"]:img.at["frames"]] = b"abcd" + struct.pack("<I", 2) + b"zz"
    warned(tmp_path, bytes(data), "ext_info.block.id")


# -- p2m frame list ------------------------------------------------------------------------

def test_truncated_frame_list(tmp_path):
    reject(tmp_path, cut(W64, "frames", 4), "p2m_frame_list", error=TruncatedError)


def test_frame_list_entry_beyond_p2m_size(tmp_path):
    exc = reject(tmp_path, patch(W64, "frames", 0, "<Q", 16), "p2m_frame_list")
    assert exc.offset == W64.at["frames"]


def test_frame_list_page_not_sent_as_notab(tmp_path):
    reject(tmp_path, patch(W64, "frames", 0, "<Q", 4), "p2m_frame_list",
           message="sent with type 0x1")


# -- body ----------------------------------------------------------------------------------

def test_batch_larger_than_1024(tmp_path):
    reject(tmp_path, patch(W64, "batch", 0, "<i", 1025), "batch.count")


def test_unknown_negative_chunk_id(tmp_path):
    reject(tmp_path, patch(W64, "chunk-2", 0, "<i", -21), "body.item")


def test_count_of_2_to_the_31_reads_as_negative(tmp_path):
    reject(tmp_path, patch(W64, "batch", 0, "<I", 0x80000000), "body.item")


def test_pfn_at_or_beyond_p2m_size(tmp_path):
    exc = reject(tmp_path, patch(W64, "batch", 4 + 8, "<Q", 16), "batch.entries")
    assert exc.offset == W64.at["batch"] + 12


@pytest.mark.parametrize("nibble", [5, 6, 7, 8])
def test_invalid_page_type_nibbles(tmp_path, nibble):
    reject(tmp_path, patch(W64, "batch", 4, "<Q", nibble << 28), "batch.entries",
           message=f"{nibble:#x}")


def test_page_table_type_in_hvm(tmp_path):
    reject(tmp_path, patch(HVM, "batch", 4, "<Q", 1 << 28), "batch.entries",
           message="page-table")


def test_xalloc_in_a_stream_that_predates_4_2_is_suspicious(tmp_path):
    img = image.hvm(64)
    data = insert(img, "chunk-7", b"", 0)
    start = img.at["chunk-7"]
    stripped = data[:start] + data[start + 24:]          # no -7: older than 4.0
    path = tmp_path / "odd.img"
    path.write_bytes(stripped)
    _, _, findings = read_all(path, Hints(guest=GuestType.HVM))
    assert any("XALLOC" in f.message and f.level == "warning" for f in findings)
    assert any("BROKEN" in f.message for f in findings)


def test_upper_32_bits_of_an_entry_with_64_bit_words(tmp_path):
    reject(tmp_path, patch(W64, "batch", 4 + 16, "<Q", (1 << 32) | 2), "batch.entries")


def test_duplicate_pfn_in_one_batch(tmp_path):
    reject(tmp_path, patch(W64, "batch", 4 + 8, "<Q", 0), "batch.entries",
           message="twice")


def test_truncated_page_data(tmp_path):
    reject(tmp_path, cut(W64, "batch.pages", 4096 * 4 + 100), "batch.pages",
           error=TruncatedError)


@pytest.mark.parametrize("max_id", [-1, 4096])
def test_vcpu_info_max_id_out_of_range(tmp_path, max_id):
    reject(tmp_path, patch(W64, "chunk-2", 4, "<i", max_id), "vcpu_info.max_vcpu_id")


def test_vcpu_info_without_vcpu_0(tmp_path):
    reject(tmp_path, patch(W64, "chunk-2", 8, "<Q", 2), "vcpu_info.online")


def test_vcpu_info_bits_above_max_id(tmp_path):
    reject(tmp_path, patch(W64, "chunk-2", 8, "<Q", 0b111), "vcpu_info.online")


def test_missing_vcpu_info_in_a_stream_with_extv(tmp_path):
    start = W64.at["chunk-2"]
    data = bytes(W64.data[:start]) + bytes(W64.data[start + 16:])
    reject(tmp_path, data, "body.vcpu_info")


def test_tsc_mode_above_3(tmp_path):
    reject(tmp_path, patch(W64, "chunk-7", 4, "<I", 4), "tsc_info.tsc_mode")


def test_value_chunk_with_nonzero_pad(tmp_path):
    reject(tmp_path, patch(HVM, "chunk-3", 4, "<I", 1), "chunk-3.pad")


def test_acpi_ioports_location_other_than_0_or_1(tmp_path):
    data = insert(HVM, "chunk-3", struct.pack("<iIQ", -10, 0, 2))
    reject(tmp_path, data, "chunk-10.value")


def test_only_one_of_the_ioreq_server_chunks(tmp_path):
    start = HVM.at["chunk-20"]
    reject(tmp_path, bytes(HVM.data[:start]) + bytes(HVM.data[start + 16:]),
           "body.ioreq_server")


def test_hvm_only_chunk_in_a_pv_stream(tmp_path):
    reject(tmp_path, insert(W64, "chunk-2", struct.pack("<iIQ", -11, 0, 1)), "body.item",
           message="HVM-only")


def test_toolstack_chunk_of_huge_length(tmp_path):
    reject(tmp_path, patch(W64, "chunk-18", 4, "<I", 2 << 20), "toolstack.length")


@pytest.mark.parametrize("rel,fmt,value,field", [
    (8, "<I", 2, "toolstack.version"),               # version != 1
    (12, "<I", 2, "toolstack.entries"),              # count overruns the payload
    (8 + 8 + 24, "<I", 0, "toolstack.namelen"),      # namelen 0
    (8 + 8 + 28 + 20, "<B", ord("x"), "toolstack.name"),   # no NUL
])
def test_libxl_toolstack_payload(tmp_path, rel, fmt, value, field):
    reject(tmp_path, patch(HVM, "chunk-18", rel, fmt, value), field)


def test_tmem_counts_that_overrun_the_file(tmp_path):
    img = image.pv(64, 64, before=image.tmem())
    reject(tmp_path, patch(img, "before", 4 + 28 + 8, "<I", 100000), "tmem.n_pages")


def test_tmem_with_an_implausible_page_size(tmp_path):
    reject(tmp_path, bytes(image.pv(64, 64, before=image.tmem(page_shift=3))),
           "tmem.pool_flags")


@pytest.mark.parametrize("chunk", [-12, -13])
def test_remus_compression_in_a_file(tmp_path, chunk):
    reject(tmp_path, insert(W64, "chunk-2", struct.pack("<i", chunk)), "body.item",
           message="compression")


# -- PV tail -------------------------------------------------------------------------------

def test_more_unmapped_pfns_than_p2m_size(tmp_path):
    reject(tmp_path, patch(W64, "tail", 0, "<I", 17), "unmapped_pfns.count")


def test_unmapped_pfn_beyond_p2m_size(tmp_path):
    reject(tmp_path, patch(W64, "tail", 4, "<Q", 16), "unmapped_pfns.pfns")


def test_fewer_vcpu_contexts_than_map_bits(tmp_path):
    reject(tmp_path, cut(W64, "vcpu1", 100), "vcpu1.context", error=TruncatedError)


def test_gdt_ents_above_8192(tmp_path):
    reject(tmp_path, patch(W64, "vcpu0", 4960, "<Q", 8193), "vcpu0.context.gdt_ents")


@pytest.mark.parametrize("offset,pfn,what", [
    (616, 16, "p2m_size"), (616, 2, "sent with type"),       # start_info (rdx) of vCPU 0
    (4832, 16, "p2m_size"), (4832, 4, "sent with type"),     # first GDT frame
    (4832, 9, "never sent"),
])
def test_start_info_and_gdt_pfns(tmp_path, offset, pfn, what):
    exc = reject(tmp_path, patch(W64, "vcpu0", offset, "<Q", pfn), "vcpu0.context.")
    assert what in exc.message
    assert exc.offset == W64.at["vcpu0"] + offset


@pytest.mark.parametrize("cr3,what", [(16 << 12, "p2m_size"), (0 << 12, "sent with type 0x0"),
                                      (4 << 12, "sent with type 0x1")])
def test_cr3_not_a_top_level_table(tmp_path, cr3, what):
    exc = reject(tmp_path, patch(W64, "vcpu1", 5008, "<Q", cr3), "vcpu1.context.ctrlreg.3")
    assert what in exc.message


def test_cr3_of_a_32_bit_guest_is_unfolded_before_checking(tmp_path):
    folded = (0x00012000 | (0x12345 >> 20)) & 0xFFFFFFFF   # pfn 0x12 → too large for p2m 16
    exc = reject(tmp_path, patch(W32, "vcpu0", 2728, "<I", folded), "vcpu0.context.ctrlreg.3")
    assert "0x12" in exc.message


def test_xsave_size_differing_from_xcnt_is_flagged(tmp_path):
    img = image.pv(64, 64)
    data = bytearray(img.data)
    at = img.at["vcpu1.xsave"]
    struct.pack_into("<Q", data, at + 8, 64 + 8)
    data[at + 16:at + 16] = bytes(8)
    hits = warned(tmp_path, bytes(data), "vcpu1.xsave.size")
    assert "xcnt" in hits[0].message


def test_xsave_mask_of_zero_with_xcnt(tmp_path):
    reject(tmp_path, patch(W64, "vcpu0.xsave", 0, "<Q", 0), "vcpu0.xsave.xfeature_mask")


def test_missing_shared_info(tmp_path):
    reject(tmp_path, cut(W64, "shared_info"), "shared_info", error=TruncatedError)


# -- HVM tail ------------------------------------------------------------------------------

@pytest.mark.parametrize("index,name", [(0, "ioreq_pfn"), (1, "bufioreq_pfn"), (2, "store_pfn")])
def test_magic_pfns_beyond_p2m_size(tmp_path, index, name):
    reject(tmp_path, patch(HVM, "tail", 8 * index, "<Q", 0x100), f"hvm_tail.{name}")


@pytest.mark.parametrize("length", [0, (16 << 20) + 1])
def test_hvm_context_length_zero_or_huge(tmp_path, length):
    reject(tmp_path, patch(HVM, "tail", 24, "<I", length), "hvm_tail.context_length")


def test_hvm_context_without_header_record(tmp_path):
    reject(tmp_path, patch(HVM, "tail", 28, "<H", 2), "hvm_context.header")


def test_hvm_context_without_end_record(tmp_path):
    length = struct.unpack_from("<I", HVM.data, HVM.at["tail"] + 24)[0]
    reject(tmp_path, patch(HVM, "tail", 28 + length - 8, "<H", 3), "hvm_context.end")


def test_hvm_context_record_overrunning_the_blob(tmp_path):
    reject(tmp_path, patch(HVM, "tail", 28 + 32 + 4, "<I", 5000),
           "hvm_context.descriptor.length")


# -- qemu ----------------------------------------------------------------------------------

def test_unknown_qemu_signature(tmp_path):
    reject(tmp_path, patch(HVM, "qemu", 0, "<4s", b"Nope"), "qemu.signature")


def test_qemu_length_beyond_the_file(tmp_path):
    reject(tmp_path, patch(HVM, "qemu", 21, "<I", 51), "qemu.length")


def test_xend_qemu_record_without_qevm(tmp_path):
    img = image.hvm(64, qemu=b"QemuDeviceModelRecord")
    reject(tmp_path, patch(img, "qemu", 21, "<4s", b"QEVN"), "qemu.data")


# -- end of stream -------------------------------------------------------------------------

def test_bytes_after_the_tail_of_a_last_checkpoint_pv_stream(tmp_path):
    reject(tmp_path, bytes(W64.data) + b"\0" * 4, "trailer")


def test_bytes_after_a_length_prefixed_qemu_record(tmp_path):
    reject(tmp_path, bytes(HVM.data) + b"junk", "trailer")


def test_partial_last_checkpoint_falls_back_to_the_previous_one(tmp_path):
    img = image.pv(64, 64, checkpoints=3)
    whole = image.pv(64, 64, checkpoints=2)
    path = tmp_path / "remus.img"
    path.write_bytes(bytes(img.data[:len(whole.data) + 5000]))
    records, summary, findings = read_all(path)
    assert summary["checkpoints"] == 2
    assert any(f.field == "checkpoint" and "incomplete" in f.message for f in findings)
    out = tmp_path / "out.img"
    from helpers import rewrite
    rewrite(path, out)
    assert out.read_bytes() == bytes(whole.data)
