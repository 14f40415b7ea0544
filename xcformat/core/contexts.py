"""The vCPU contexts of ``.xen_prstatus``: registers by name, and the context sanity checks
(dump checks #55-#58, all warnings: :mod:`xcformat.core.checks`).

The layouts are the shared x86 ``vcpu_guest_context`` schemas (``xcformat.x86``): x86_64 for
EM_X86_64 dumps (every HVM guest from 64-bit tools included), x86_32 for EM_386.
"""

from __future__ import annotations

from ..x86 import field_offset, field_value, vcpu_guest_context
from . import schema as s

#: ``flags`` bit of a vCPU that was up (VGCF_online).
VGCF_ONLINE = 1 << 5


#: Context width by x86 ``e_machine``; ia64 and ARM contexts are kept as raw bytes.
X86_BITS = {s.EM_386: 32, s.EM_X86_64: 64}


def context_bits(machine: int) -> int | None:
    """32 or 64 for the x86 ``e_machine`` values, None for other architectures."""
    return X86_BITS.get(machine)


def registers(context: bytes, bits: int) -> dict[str, int]:
    """General, segment, control and debug registers of one context, by name.

    ``cr0``..``cr7`` and ``dr0``..``dr7`` come from ``ctrlreg``/``debugreg``; fields starting
    with ``_`` (padding) are left out.
    """
    parsed = vcpu_guest_context(bits).parse(context)
    regs = {name: value for name, value in parsed.user_regs.items()
            if not name.startswith("_") and isinstance(value, int)}
    regs.update({f"cr{i}": value for i, value in enumerate(parsed.ctrlreg)})
    regs.update({f"dr{i}": value for i, value in enumerate(parsed.debugreg)})
    regs["flags"] = parsed.flags
    for name in ("kernel_ss", "kernel_sp", "ldt_base", "gdt_ents", "fs_base", "gs_base_kernel",
                 "gs_base_user"):
        if name in parsed:
            regs[name] = parsed[name]
    return regs


def cr3_frame(cr3: int, bits: int, pv: bool) -> int:
    """The frame ``cr3`` points at: 32-bit PV guests use Xen's folded PAE form."""
    if pv and bits == 32:
        return ((cr3 >> 12) | (cr3 << 20)) & 0xFFFF_FFFF
    return cr3 >> 12


class ContextChecks:
    """Reads each slot's flags and cr3; ``roots`` are the page-table roots the table scan
    must find (#58)."""

    def __init__(self, dump) -> None:
        self.dump = dump
        self.bits = context_bits(dump.elf.machine)
        self.roots: dict[int, int] = {}   # cr3 frame -> first vCPU slot using it
        if self.bits is not None:
            layout = vcpu_guest_context(self.bits)
            self._layout = layout
            self._cr3_at = field_offset(layout, "ctrlreg.3")

    def run(self) -> None:
        """Check every slot (x86 dumps only: other architectures' contexts are not decoded)."""
        if self.bits is None:
            return
        dump, findings = self.dump, self.dump.findings
        pv = dump.table.p2m
        section = dump.prstatus
        online = False
        for index in range(dump.nr_vcpus):
            at = section.offset + index * section.entsize
            slot = dump.source.pread(at, section.entsize, f".xen_prstatus[{index}]")
            flags = field_value(self._layout, slot, "flags")
            cr3 = field_value(self._layout, slot, "ctrlreg.3")
            online = online or bool(flags & VGCF_ONLINE)
            if pv and self.bits == 64 and cr3 & 0xFFF:
                findings.warn(55, f"vCPU slot {index}: cr3 {cr3:#x} has low bits set",
                              at + self._cr3_at, "ctrlreg[3]")
            tail = slot[s.CTX_X86_32:] if dump.elf.machine == s.EM_386 else b""
            if tail and tail.count(0) != len(tail):
                findings.warn(57, f"vCPU slot {index}: bytes after the 2800-byte x86_32 "
                                  "context are not zero (a pre-2009-06 writer?)",
                              at + s.CTX_X86_32, ".xen_prstatus")
            if pv and cr3:
                self.roots.setdefault(cr3_frame(cr3, self.bits, pv), index)
        if dump.nr_vcpus and not online:
            findings.warn(56, "no vCPU context has VGCF_online set", section.offset,
                          ".xen_prstatus")

    def missing_roots(self, found: set[int]) -> None:
        """Report page-table roots (cr3) whose frame the table does not hold (#58)."""
        for frame, index in self.roots.items():
            if frame not in found:
                self.dump.findings.warn(58, f"vCPU slot {index}: cr3 frame {frame:#x} is not "
                                            "in the dump (page tables missing)",
                                        self.dump.prstatus.offset, "ctrlreg[3]")
