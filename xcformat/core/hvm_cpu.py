"""HVM vCPU state for a dump made from a save image.

A save image keeps an HVM guest's registers in the HVM context blob (one CPU record per vCPU
that was up), a dump in ``.xen_prstatus`` as x86_64 ``vcpu_guest_context``.  This fills the
context the way Xen's ``arch_get_info_guest`` does for an HVM vCPU (Xen commit c447b7308b,
``xen/arch/x86/domctl.c``): general registers, rip, rflags, segment selectors, cr0/2/3/4,
debug registers, fs/gs bases (kernel/user GS chosen by the CPL of cs), and the flags
``VGCF_i387_valid | VGCF_online``; everything PV-only stays zero.
"""

from __future__ import annotations

from construct import Bytes, Int32ul, Int64ul, Struct

from ..errors import FormatError
from ..x86 import iter_hvm_records, set_field, vcpu_guest_context
from . import schema as s

TYPE_CPU = 2
_GPRS = ("rax", "rbx", "rcx", "rdx", "rbp", "rsi", "rdi", "rsp", "r8", "r9", "r10", "r11",
         "r12", "r13", "r14", "r15")
_SEGMENTS = ("cs", "ds", "es", "fs", "gs", "ss", "tr", "ldtr")
_LIMITS = _SEGMENTS + ("idtr", "gdtr")

hvm_cpu_head = s.document(
    "core", "hvm-hw-cpu-head", Struct(
        "fpu_regs" / Bytes(512) * "FXSAVE image",
        *[name / Int64ul * f"general register {name}" for name in _GPRS],
        "rip" / Int64ul * "instruction pointer",
        "rflags" / Int64ul * "flags register",
        *[f"cr{n}" / Int64ul * f"control register {n}" for n in (0, 2, 3, 4)],
        *[f"dr{n}" / Int64ul * f"debug register {n}" for n in (0, 1, 2, 3, 6, 7)],
        *[f"{seg}_sel" / Int32ul * f"{seg} selector" for seg in _SEGMENTS],
        *[f"{seg}_limit" / Int32ul * f"{seg} limit" for seg in _LIMITS],
        *[f"{seg}_base" / Int64ul * f"{seg} base" for seg in _LIMITS],
        *[f"{seg}_arbytes" / Int32ul * f"{seg} access rights" for seg in _SEGMENTS],
        "sysenter_cs" / Int64ul * "SYSENTER_CS MSR",
        "sysenter_esp" / Int64ul * "SYSENTER_ESP MSR",
        "sysenter_eip" / Int64ul * "SYSENTER_EIP MSR",
        "shadow_gs" / Int64ul * "the inactive GS base (MSR_SHADOW_GS_BASE)",
    ), title="HVM CPU save record (struct hvm_hw_cpu), the part a dump uses", since="Xen 3.1",
    source="c447b7308b:xen/include/public/arch-x86/hvm/save.h",
    doc="Payload of typecode 2 in the HVM context blob, up to shadow_gs: the layout every "
        "version shares (the MSR block and pending-event tail after it grew over time).")

_VGC = vcpu_guest_context(64)
_FLAGS = (1 << 0) | (1 << 5)   # VGCF_i387_valid | VGCF_online


def _put(ctx: bytearray, path: str, value: int) -> None:
    set_field(_VGC, ctx, path, value)


def context_from_cpu(payload) -> bytes:
    """An x86_64 ``vcpu_guest_context`` from one CPU record's payload."""
    if len(payload) < hvm_cpu_head.sizeof():
        raise FormatError(f"HVM CPU record of {len(payload)} bytes is shorter than the "
                          f"{hvm_cpu_head.sizeof()} a dump needs", field="hvm_hw_cpu")
    cpu = hvm_cpu_head.parse(bytes(payload[:hvm_cpu_head.sizeof()]))
    ctx = bytearray(s.CTX_X86_64)
    ctx[0:512] = cpu.fpu_regs
    _put(ctx, "flags", _FLAGS)
    for name in _GPRS:
        _put(ctx, f"user_regs.{name}", cpu[name])
    _put(ctx, "user_regs.rip", cpu.rip)
    _put(ctx, "user_regs.rflags", cpu.rflags)
    for seg in ("cs", "ss", "ds", "es", "fs", "gs"):
        _put(ctx, f"user_regs.{seg}", cpu[f"{seg}_sel"] & 0xFFFF)
    for n in (0, 2, 3, 4):
        _put(ctx, f"ctrlreg.{n}", cpu[f"cr{n}"])
    for n in (0, 1, 2, 3, 6, 7):
        _put(ctx, f"debugreg.{n}", cpu[f"dr{n}"])
    _put(ctx, "fs_base", cpu.fs_base)
    kernel_mode = cpu.cs_sel & 3 == 0
    _put(ctx, "gs_base_kernel", cpu.gs_base if kernel_mode else cpu.shadow_gs)
    _put(ctx, "gs_base_user", cpu.shadow_gs if kernel_mode else cpu.gs_base)
    return bytes(ctx)


def contexts_from_blob(blob) -> dict[int, bytes]:
    """vCPU id -> context, for every CPU record of an HVM context blob."""
    return {instance: context_from_cpu(payload)
            for _, kind, instance, payload in iter_hvm_records(blob) if kind == TYPE_CPU}
