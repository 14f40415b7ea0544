"""One ``--drop`` vocabulary for every writer.

A writer whose format has no place for something refuses it, or leaves it out when the user
names its kind with ``--drop KIND``; every writer uses the kinds below for the same things and
the same two sentences (:func:`refuse_or_drop`).  Core dumps leave out state a dump has no place
for without being asked (a dump is for examination) and report it the same way
(:func:`report_dropped`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .errors import UnsupportedError
from .records import (CpuPolicy, EmulatorContext, EmulatorXenstore, HvmContext, HvmParams, Opaque,
                      PvExtInfo, Record, SharedInfo, Toolstack, TscInfo, UnmappedPfns,
                      VcpuContext, VcpuExtended, VcpuMsrs, VcpuXsave, Wrapper)

if TYPE_CHECKING:
    from .formats import WriteOptions

#: ``--drop`` kind -> what it leaves out (the sentence's object).
KINDS: dict[str, str] = {
    "config": "the wrapper's domain configuration",
    "emulator": "the device model's state or xenstore keys",
    "toolstack": "the toolstack physmap",
    "unmapped-pfns": "the list of pfns that were not in the p2m at the end of the save",
    "tmem": "transcendent memory (tmem) state",
    "verify": "a debug verify pass",
    "cpu-policy": "the CPUID/MSR policy",
    "xsave": "vCPU xsave state",
    "msrs": "vCPU MSR lists",
    "vcpu-extended": "extended vCPU contexts",
    "vcpu-context": "vCPU contexts",
    "shared-info": "the shared-info page",
    "hvm-context": "the HVM context",
    "hvm-params": "HVM parameters",
    "tsc": "the TSC information",
    "ext-info": "the legacy PV extended-info block",
    "hvm-2007-tail": "the 2007 HVM tail's frame",
    "unknown-record": "a record type xcformat does not know",
}

#: What a writer says when it writes an xl save file with no domain configuration in it:
#: ``xl restore`` then needs one on its command line (tools/xl/xl_vmcontrol.c: "Config file not
#: specified and none in save file").
NO_XL_CONFIG = "the xl header carries no domain configuration: give one to xl restore"

#: Record class -> its kind.
OF_RECORD: dict[type[Record], str] = {
    Wrapper: "config", EmulatorContext: "emulator", EmulatorXenstore: "emulator",
    Toolstack: "toolstack", UnmappedPfns: "unmapped-pfns", CpuPolicy: "cpu-policy",
    VcpuXsave: "xsave", VcpuMsrs: "msrs", VcpuExtended: "vcpu-extended",
    VcpuContext: "vcpu-context", SharedInfo: "shared-info", HvmContext: "hvm-context",
    HvmParams: "hvm-params", TscInfo: "tsc", PvExtInfo: "ext-info",
}

#: :class:`Opaque` ``kind`` -> its kind (tmem's two legacy chunks belong together).
OF_OPAQUE: dict[str, str] = {
    "tmem": "tmem", "tmem-extra": "tmem", "verify-mode": "verify", "verify": "verify",
    "hvm-2007-tail": "hvm-2007-tail",
}


def kind_of(record: Record) -> str:
    if isinstance(record, Opaque):
        return OF_OPAQUE.get(record.kind, "unknown-record")
    return OF_RECORD.get(type(record), "unknown-record")


def what_of(record: Record) -> str:
    """The sentence's object for ``record``: its kind's description (Opaque: its name too)."""
    kind = kind_of(record)
    if kind == "unknown-record" and isinstance(record, Opaque):
        return f"{KINDS[kind]} ({record.origin} {record.kind})"
    return KINDS[kind]


def refuse_or_drop(options: WriteOptions, target: str, kind: str,
                   what: str | None = None) -> None:
    """Raise "``target`` cannot carry ``what``" unless ``options.drop`` names ``kind``."""
    what = what or KINDS[kind]
    if kind not in options.drop:
        raise UnsupportedError(f"{target} cannot carry {what}; pass --drop {kind} to leave it out")
    options.say(f"dropped {what} (--drop {kind})")


def report_dropped(options: WriteOptions, target: str, kinds: Iterable[str]) -> None:
    """What a writer left out without being asked, in one line (nothing when nothing)."""
    if kinds:
        items = ", ".join(f"{KINDS[kind]} (--drop {kind})" for kind in sorted(set(kinds)))
        options.say(f"dropped what {target} has no place for: {items}")


def unknown_kinds(names: Iterable[str]) -> list[str]:
    return sorted(set(names) - set(KINDS))
