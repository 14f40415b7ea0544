"""The HVM guest: magic pfns and the hypervisor's HVM context blob."""

from __future__ import annotations

import struct

from .spec import GuestSpec, data_end

HVM_FILE_MAGIC = 0x54381286
HVM_FILE_VERSION = 1
TYPE_END, TYPE_HEADER, TYPE_CPU = 0, 1, 2
_CHANGESET = 0x5EED0000
_CPUID = 0x000306C3
_GTSC_KHZ = 2_400_000


def magic_pfns(spec: GuestSpec) -> tuple[int, int, int]:
    """ioreq, buffered-ioreq and xenstore pfns: the top three data pfns."""
    top = data_end(spec) - 1
    return top - 2, top - 1, top


def _record(typecode: int, instance: int, payload: bytes) -> bytes:
    return struct.pack("<HHI", typecode, instance, len(payload)) + payload


#: hvm_hw_cpu offsets, the same in 3.1 and 4.5 (public/arch-x86/hvm/save.h at 3.1.0-branched and
#: RELEASE-4.5.0): fpu_regs[512], then rax..r15, rip, rflags, cr0, cr2, cr3, cr4.
_RAX, _RSP, _RIP, _CR0 = 512, 512 + 7 * 8, 512 + 16 * 8, 512 + 18 * 8


def _cpu_payload(spec: GuestSpec, vcpu: int, length: int, checkpoint: int) -> bytes:
    """A plausible 64-bit vcpu: FPU control words, a tag in rax/rbx, rsp, rip, cr0/cr3/cr4."""
    buf = bytearray(length)
    struct.pack_into("<H22xI", buf, 0, 0x037F, 0x1F80)
    struct.pack_into("<4sIII", buf, _RAX, b"vcpu", vcpu, spec.seed & 0xFFFFFFFF, checkpoint)
    struct.pack_into("<Q", buf, _RSP, 0xFFFF880000010000 - vcpu * 0x4000)
    struct.pack_into("<QQ", buf, _RIP, 0xFFFFFFFF81000000 + vcpu * 0x10, 0x202)
    table = 0x10 if data_end(spec) > 0x10 else 1          # the guest's page table: a data pfn
    struct.pack_into("<QQQQ", buf, _CR0, 0x80050033, 0, table << 12, 0x6F0)
    return bytes(buf)


def hvm_context(spec: GuestSpec, checkpoint: int = 0) -> bytes:
    """HEADER, one CPU record per online vcpu (3.1+; the 2007 layout keeps CPU state in vcpu
    contexts after the blob instead), END."""
    v = spec.info
    header = struct.pack("<IIQI", HVM_FILE_MAGIC, HVM_FILE_VERSION, _CHANGESET, _CPUID)
    # 4.x appends gtsc_khz; older headers are the same 20 bytes padded to 24 by the u64 alignment.
    header += struct.pack("<I", _GTSC_KHZ if v.hvm_cpu_record >= 1024 else 0)
    records = [_record(TYPE_HEADER, 0, header)]
    if v.hvm_tail == "magic":
        records += [_record(TYPE_CPU, vcpu, _cpu_payload(spec, vcpu, v.hvm_cpu_record, checkpoint))
                    for vcpu in spec.vcpus]
    records.append(_record(TYPE_END, 0, b""))
    return b"".join(records)


def qemu_state(spec: GuestSpec, checkpoint: int = 0) -> bytes:
    """The device model's saved state: "QEVM" then deterministic filler."""
    unit = struct.pack("<4sII", b"qemu", spec.seed & 0xFFFFFFFF, checkpoint)
    body = b"QEVM" + struct.pack("<I", 3) + unit * (spec.qemu_bytes // len(unit) + 1)
    return body[:spec.qemu_bytes]
