"""The shared x86 guest structures: sizes and field offsets from Xen's public headers, HVM blob."""

import struct

import pytest

from xcformat.errors import FormatError
from xcformat.schema import REGISTRY, undocumented_fields
from xcformat.x86 import (EXT_VCPU_CONTEXT, check_hvm_context, field_offset,
                          guest_bits_of_context, shared_info_arch, vcpu_guest_context)

# xen/include/public/arch-x86/xen-x86_{32,64}.h: (field, x86_32 offset, x86_64 offset)
HEADER_OFFSETS = [
    ("fpu_ctxt", 0, 0),
    ("flags", 512, 512),
    ("user_regs", 516, 520),
    ("trap_ctxt", 584, 720),
    ("ldt_base", 2632, 4816),
    ("gdt_frames", 2640, 4832),
    ("gdt_ents", 2704, 4960),
    ("kernel_ss", 2708, 4968),
    ("ctrlreg", 2716, 4984),
    ("ctrlreg.3", 2728, 5008),
    ("debugreg", 2748, 5048),
    ("vm_assist", 2796, 5136),
]


@pytest.mark.parametrize("bits,size", [(32, 2800), (64, 5168)])
def test_vcpu_guest_context_has_the_compiled_header_size(bits, size):
    assert vcpu_guest_context(bits).sizeof() == size
    assert guest_bits_of_context(size) == bits


@pytest.mark.parametrize("name,off32,off64", HEADER_OFFSETS)
def test_vcpu_guest_context_fields_land_at_xens_header_offsets(name, off32, off64):
    assert field_offset(vcpu_guest_context(32), name) == off32
    assert field_offset(vcpu_guest_context(64), name) == off64


@pytest.mark.parametrize("bits,reg,offset", [
    (32, "user_regs.edx", 524), (32, "user_regs.eip", 548), (32, "user_regs.esp", 560),
    (32, "user_regs.gs", 580), (32, "event_callback_cs", 2780),
    (64, "user_regs.rdx", 616), (64, "user_regs.rip", 648), (64, "user_regs.rsp", 672),
    (64, "user_regs.gs", 712), (64, "event_callback_eip", 5112), (64, "ctrlreg.1", 4992),
    (64, "fs_base", 5144), (64, "gs_base_user", 5160)])
def test_registers_land_where_the_headers_put_them(bits, reg, offset):
    assert field_offset(vcpu_guest_context(bits), reg) == offset


def test_a_context_parses_to_named_registers():
    raw = bytearray(5168)
    struct.pack_into("<Q", raw, 616, 0x1234)          # rdx: start_info pfn
    struct.pack_into("<Q", raw, 5008, 0x5678 << 12)   # cr3
    struct.pack_into("<Q", raw, 4960, 24)             # gdt_ents
    ctx = vcpu_guest_context(64).parse(bytes(raw))
    assert ctx.user_regs.rdx == 0x1234
    assert ctx.ctrlreg[3] >> 12 == 0x5678
    assert ctx.gdt_ents == 24
    assert vcpu_guest_context(64).build(ctx) == bytes(raw)


def test_extended_context_is_128_bytes_with_vmce_at_32():
    assert EXT_VCPU_CONTEXT.sizeof() == 128
    assert field_offset(EXT_VCPU_CONTEXT, "syscall32_callback_cs") == 24
    assert field_offset(EXT_VCPU_CONTEXT, "mcg_caps") == 32


@pytest.mark.parametrize("bits,arch", [(32, 2316), (64, 3088)])
def test_shared_info_arch_offsets(bits, arch):
    page = shared_info_arch(bits)
    assert page.sizeof() == 4096
    assert field_offset(page, "arch.max_pfn") == arch
    assert field_offset(page, "arch.pfn_to_mfn_frame_list_list") == arch + bits // 8


def test_every_x86_structure_documents_every_field():
    for bits in (32, 64):
        vcpu_guest_context(bits), shared_info_arch(bits)
    entries = [e for (fmt, _), e in REGISTRY.items() if fmt == "x86"]
    assert len(entries) >= 7
    for entry in entries:
        assert entry.source and entry.since and entry.title
        assert undocumented_fields(entry.struct) == [], entry.key


def hvm_record(typecode, instance, payload):
    return struct.pack("<HHI", typecode, instance, len(payload)) + payload


HEADER = hvm_record(1, 0, struct.pack("<IIQII", 0x54381286, 1, 0, 0x306c3, 2400000))
END = hvm_record(0, 0, b"")


def test_hvm_context_counts_cpu_records():
    blob = HEADER + hvm_record(2, 0, bytes(1024)) + hvm_record(2, 1, bytes(1024)) + \
        hvm_record(3, 0, bytes(8)) + END
    summary = check_hvm_context(blob)
    assert (summary.cpus, summary.records) == (2, 5)


@pytest.mark.parametrize("blob,field,offset", [
    (hvm_record(2, 0, bytes(8)) + END, "hvm_context.header", 0),
    (hvm_record(1, 0, struct.pack("<I", 0x12345678)) + END, "hvm_context.header.magic", 8),
    (HEADER + hvm_record(2, 0, bytes(8)), "hvm_context.end", len(HEADER)),
    (HEADER + END + hvm_record(2, 0, b""), "hvm_context.end", len(HEADER) + 8),
    (HEADER + struct.pack("<HHI", 2, 0, 99) + bytes(10), "hvm_context.descriptor.length",
     len(HEADER)),
    (HEADER + b"\0\0\0", "hvm_context.descriptor", len(HEADER)),
    (b"", "hvm_context", 0),
])
def test_hvm_context_framing_errors_are_located(blob, field, offset):
    with pytest.raises(FormatError) as err:
        check_hvm_context(blob, base=100, file="img")
    assert err.value.field == field
    assert err.value.offset == 100 + offset
    assert err.value.file == "img"
