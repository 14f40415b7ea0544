"""HVM vCPU state for a dump made from a save image.

A save image keeps an HVM guest's registers in the HVM context blob (one CPU record per vCPU
that was up), a dump in ``.xen_prstatus`` as x86_64 ``vcpu_guest_context``.  This fills the
context the way Xen's ``arch_get_info_guest`` does for an HVM vCPU (Xen commit c447b7308b,
``xen/arch/x86/domctl.c``): general registers, rip, rflags, segment selectors, cr0/2/3/4,
debug registers, fs/gs bases (kernel/user GS chosen by the CPL of cs), and the flags
``VGCF_i387_valid | VGCF_online``; everything PV-only stays zero.
"""

from __future__ import annotations

from ..errors import FormatError
from ..x86 import iter_hvm_records, set_field, vcpu_guest_context
from . import schema as s

TYPE_CPU = 2
_VGC = vcpu_guest_context(64)
_FLAGS = (1 << 0) | (1 << 5)   # VGCF_i387_valid | VGCF_online


def _put(ctx: bytearray, path: str, value: int) -> None:
    set_field(_VGC, ctx, path, value)


def context_from_cpu(payload) -> bytes:
    """An x86_64 ``vcpu_guest_context`` from one CPU record's payload."""
    if len(payload) < s.hvm_cpu_head.sizeof():
        raise FormatError(f"HVM CPU record of {len(payload)} bytes is shorter than the "
                          f"{s.hvm_cpu_head.sizeof()} a dump needs", field="hvm_hw_cpu")
    cpu = s.hvm_cpu_head.parse(bytes(payload[:s.hvm_cpu_head.sizeof()]))
    ctx = bytearray(s.CTX_X86_64)
    ctx[0:512] = cpu.fpu_regs
    _put(ctx, "flags", _FLAGS)
    for name in s.HVM_CPU_GPRS:
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
