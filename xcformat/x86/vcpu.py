"""The PV ``vcpu_guest_context`` (x86_32 and x86_64) and the 128-byte extended vCPU context.

Layouts from Xen's public headers (``xen/include/public/arch-x86/{xen.h,xen-x86_32.h,
xen-x86_64.h}``, unchanged from 2007 to 4.5 and since; the core dump's ``.xen_prstatus`` holds it too).  The x86_32 structure is packed to 4 bytes (i386 aligns ``uint64_t`` to 4).
"""

from __future__ import annotations

import functools

from construct import Array, Bytes, GreedyBytes, Int8ul, Int16ul, Int32ul, Int64ul, Struct

from ..schema import document

#: Xen 4.5.0 (RELEASE-4.5.0); the layouts are the same at the 2007 snapshot a38c7c1575.
XEN_450 = "a8ac2290ed95dbbc0dc1bdde86fc3a49fe784b28"

#: ``sizeof(vcpu_guest_context)`` by guest width in bits.
VGC_SIZE = {32: 2800, 64: 5168}

#: The extended context slot the legacy PV tail carries per vCPU.
EXT_VCPU_CONTEXT_SIZE = 128
#: ``offsetof(struct xen_domctl_ext_vcpucontext, vmce)``: the callbacks without vMCE state, the
#: smallest ``size`` XEN_DOMCTL_set_ext_vcpucontext accepts (xen/arch/x86/domctl.c).
EXT_VCPU_MIN_SIZE = 32

_GPRS_64 = ("r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx",
            "rdx", "rsi", "rdi")
_GPRS_32 = ("ebx", "ecx", "edx", "esi", "edi", "ebp", "eax")


def _gpr_doc(name: str) -> str:
    if name in ("edx", "rdx"):
        return f"general register {name} (vcpu 0 in save images: pfn of start_info)"
    return f"general register {name}"


def _segment_selectors(pad: int) -> list:
    return [part for seg in ("ss", "es", "ds", "fs", "gs") for part in (
        seg / Int16ul * f"{seg} selector",
        f"_pad_{seg}" / Bytes(pad) * "padding (not cleared by Xen)")]


def _user_regs_64() -> Struct:
    return Struct(
        *[name / Int64ul * _gpr_doc(name) for name in _GPRS_64],
        "error_code" / Int32ul * "exception error code (private to Xen)",
        "entry_vector" / Int32ul * "exception vector (private to Xen)",
        "rip" / Int64ul * "instruction pointer",
        "cs" / Int16ul * "code segment selector",
        "_pad0" / Bytes(2) * "padding",
        "saved_upcall_mask" / Int8ul * "event upcall mask saved on exception entry",
        "_pad1" / Bytes(3) * "padding",
        "rflags" / Int64ul * "flags register (IF == !saved_upcall_mask)",
        "rsp" / Int64ul * "stack pointer",
        *_segment_selectors(6),
    )


def _user_regs_32() -> Struct:
    return Struct(
        *[name / Int32ul * _gpr_doc(name) for name in _GPRS_32],
        "error_code" / Int16ul * "exception error code (private to Xen)",
        "entry_vector" / Int16ul * "exception vector (private to Xen)",
        "eip" / Int32ul * "instruction pointer",
        "cs" / Int16ul * "code segment selector",
        "saved_upcall_mask" / Int8ul * "event upcall mask saved on exception entry",
        "_pad0" / Bytes(1) * "padding",
        "eflags" / Int32ul * "flags register (IF == !saved_upcall_mask)",
        "esp" / Int32ul * "stack pointer",
        *_segment_selectors(2),
    )


def _trap_info(ulong) -> Struct:
    return Struct(
        "vector" / Int8ul * "exception vector",
        "flags" / Int8ul * "bits 0-3 privilege level; bit 4 clear event-enable on entry",
        "cs" / Int16ul * "handler code selector",
        *(["_pad" / Bytes(4) * "padding"] if ulong is Int64ul else []),
        "address" / ulong * "handler offset",
    )


def _callbacks(bits: int) -> list:
    if bits == 32:
        return ["event_callback_cs" / Int32ul * "event upcall code selector",
                "event_callback_eip" / Int32ul * "event upcall entry point",
                "failsafe_callback_cs" / Int32ul * "failsafe callback code selector",
                "failsafe_callback_eip" / Int32ul * "failsafe callback entry point"]
    return ["event_callback_eip" / Int64ul * "event upcall entry point",
            "failsafe_callback_eip" / Int64ul * "failsafe callback entry point",
            "syscall_callback_eip" / Int64ul * "64-bit SYSCALL entry point"]


def _segment_bases(bits: int) -> list:
    if bits == 32:
        return []
    return ["fs_base" / Int64ul * "FS base address",
            "gs_base_kernel" / Int64ul * "GS base while in kernel mode",
            "gs_base_user" / Int64ul * "GS base while in user mode"]


@functools.cache
def vcpu_guest_context(bits: int) -> Struct:
    """``vcpu_guest_context`` of a PV guest of ``bits`` (32 or 64) width."""
    if bits not in VGC_SIZE:
        raise ValueError(f"guest width must be 32 or 64 bits, not {bits}")
    ulong = Int64ul if bits == 64 else Int32ul
    struct = Struct(
        "fpu_ctxt" / Bytes(512) * "FXSAVE image of the FPU/SSE state",
        "flags" / ulong * "VGCF_* bits: 0 i387_valid, 2 in_kernel, 3 failsafe_disables_events, "
                          "4 syscall_disables_events, 5 online",
        "user_regs" / (_user_regs_64() if bits == 64 else _user_regs_32())
        * "general registers (struct cpu_user_regs)",
        "trap_ctxt" / Array(256, _trap_info(ulong)) * "virtual IDT (struct trap_info[256])",
        "ldt_base" / ulong * "LDT linear address",
        "ldt_ents" / ulong * "LDT entries",
        "gdt_frames" / Array(16, ulong) * "GDT frames (canonical form in save images: pfns)",
        "gdt_ents" / ulong * "GDT entries (restorers reject more than 8192)",
        "kernel_ss" / ulong * "kernel stack segment (virtual TSS SS1)",
        "kernel_sp" / ulong * "kernel stack pointer (virtual TSS SP1)",
        "ctrlreg" / Array(8, ulong) * (
            "CR0-CR7; cr3 canonical in save images: pfn<<12 (x86_64), or the 32-bit rotate "
            "(pfn<<12)|(pfn>>20) (x86_32); on x86_64 cr1 is the user page table "
            "((pfn<<12)|1 when set)"),
        "debugreg" / Array(8, ulong) * "DR0-DR7",
        *_callbacks(bits),
        "vm_assist" / ulong * "VMASST_TYPE_* bitmap (bit 3 pae_extended_cr3)",
        *_segment_bases(bits),
    )
    assert struct.sizeof() == VGC_SIZE[bits]
    return document(
        "x86", f"vcpu_guest_context_{bits}", struct,
        title=f"vcpu_guest_context (x86_{bits} guest)", since="3.0",
        source=f"{XEN_450}:xen/include/public/arch-x86/xen.h",
        doc=f"A PV vCPU's register state, {VGC_SIZE[bits]} bytes, in the guest's word size "
            "(cpu_user_regs from xen-x86_32.h / xen-x86_64.h).  Save images store it with "
            "machine frames replaced by pfns (canonical form).")


def guest_bits_of_context(size: int) -> int | None:
    """The guest width a context size stands for (2800 -> 32, 5168 -> 64), else None."""
    return {v: k for k, v in VGC_SIZE.items()}.get(size)


EXT_VCPU_CONTEXT = document(
    "x86", "ext_vcpucontext", Struct(
        "vcpu" / Int32ul * "vCPU id (3.2's restorer required it to equal the record's index)",
        "size" / Int32ul * "bytes of the structure that are meaningful: 32 in 3.2, 40 in "
                           "4.2, 56 in 4.3-4.9, 64 since 4.10; v2 streams carry just these",
        "syscall32_callback_eip" / Int64ul * "SYSCALL-from-32-bit-mode entry point",
        "sysenter_callback_eip" / Int64ul * "SYSENTER entry point",
        "syscall32_callback_cs" / Int16ul * "SYSCALL-from-32-bit code selector",
        "sysenter_callback_cs" / Int16ul * "SYSENTER code selector",
        "syscall32_disables_events" / Int8ul * "SYSCALL32 masks events on entry",
        "sysenter_disables_events" / Int8ul * "SYSENTER masks events on entry",
        "_pad" / Bytes(2) * "padding",
        "mcg_caps" / Int64ul * "(4.2+) virtual MCE: MCG_CAP",
        "mci_ctl2_bank0" / Int64ul * "(4.3+) virtual MCE: MCi_CTL2 of bank 0",
        "mci_ctl2_bank1" / Int64ul * "(4.3+) virtual MCE: MCi_CTL2 of bank 1",
        "mcg_ext_ctl" / Int64ul * "(4.10+) virtual MCE: MCG_EXT_CTL",
        "rest" / Bytes(EXT_VCPU_CONTEXT_SIZE - 64) * "unused: zero (the domctl union was "
                                                     "cleared before the call)",
    ), title="extended vCPU context (128-byte domctl slot)", since="3.2",
    source=f"{XEN_450}:xen/include/public/domctl.h",
    doc="struct xen_domctl_ext_vcpucontext in its 128-byte union slot: SYSCALL32/SYSENTER "
        "callbacks and, from 4.2, the virtual MCE state.")

XSAVE_STATE = document(
    "x86", "xsave_state", Struct(
        "xcr0" / Int64ul * "the vCPU's XCR0 when it was saved",
        "xcr0_accum" / Int64ul * "every feature the guest ever enabled in XCR0 (never 0)",
        "area" / GreedyBytes * "the XSAVE area, for the features of xcr0_accum",
    ), title="vCPU xsave state (XEN_DOMCTL_getvcpuextstate buffer)", since="4.1",
    source=f"{XEN_450}:xen/arch/x86/domctl.c",
    doc="What the hypervisor copies out for a PV vCPU's extended state, and what the legacy "
        "tail's xsave record and v2's X86_PV_VCPU_XSAVE carry as they are.")
