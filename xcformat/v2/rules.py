"""The stream-level rules of a libxc v2/v3 stream that verify-stream-v2 does not check.

Record order per guest type and version, records that do not belong to the guest type, records
that may appear only once per snapshot, and the records a restore cannot do without.  Each broken
rule becomes an error :class:`~xcformat.errors.Finding` naming the offset and the record; reading
goes on, so one pass reports everything.  Sources: Xen's ``xg_sr_restore*.c`` (what the C restorer
enforces and what the Xen saver writes).
"""

from __future__ import annotations

from ..errors import Finding
from .schema import RecType

R = RecType

PV_ONLY = frozenset({R.X86_PV_INFO, R.X86_PV_P2M_FRAMES, R.X86_PV_VCPU_BASIC,
                     R.X86_PV_VCPU_EXTENDED, R.X86_PV_VCPU_XSAVE, R.X86_PV_VCPU_MSRS,
                     R.SHARED_INFO})
HVM_ONLY = frozenset({R.HVM_CONTEXT, R.HVM_PARAMS})
V3_ONLY = frozenset({R.STATIC_DATA_END, R.X86_CPUID_POLICY, R.X86_MSR_POLICY})
#: Static data: only before STATIC_DATA_END (v3).
STATIC = frozenset({R.X86_PV_INFO, R.X86_CPUID_POLICY, R.X86_MSR_POLICY})
#: State that depends on guest execution: only after STATIC_DATA_END (v3; C restore
#: "No STATIC_DATA_END seen").
DYNAMIC = frozenset({R.PAGE_DATA, R.X86_PV_P2M_FRAMES, R.X86_PV_VCPU_BASIC,
                     R.X86_PV_VCPU_EXTENDED, R.X86_PV_VCPU_XSAVE, R.X86_PV_VCPU_MSRS,
                     R.SHARED_INFO, R.X86_TSC_INFO, R.HVM_CONTEXT, R.HVM_PARAMS})
#: PV records that need the guest width from X86_PV_INFO (C restore checks the first two).
NEEDS_PV_INFO = frozenset({R.X86_PV_P2M_FRAMES, R.SHARED_INFO, R.PAGE_DATA,
                           R.X86_PV_VCPU_BASIC, R.X86_PV_VCPU_EXTENDED, R.X86_PV_VCPU_XSAVE,
                           R.X86_PV_VCPU_MSRS})
#: Records that may appear once in the whole stream.
ONCE = frozenset({R.X86_PV_INFO, R.STATIC_DATA_END, R.X86_CPUID_POLICY, R.X86_MSR_POLICY,
                  R.X86_PV_P2M_FRAMES})
#: Records that may appear once per snapshot (a CHECKPOINT starts the next one).  HVM_PARAMS may
#: repeat: convert-legacy-stream writes one for the chunks and one for the tail's magic pfns, and
#: the restorer applies each as it comes.
ONCE_PER_SNAPSHOT = frozenset({R.SHARED_INFO, R.X86_TSC_INFO, R.HVM_CONTEXT})
VCPU_STATE = frozenset({R.X86_PV_VCPU_BASIC, R.X86_PV_VCPU_EXTENDED, R.X86_PV_VCPU_XSAVE,
                        R.X86_PV_VCPU_MSRS})


class StreamRules:
    """Feed it every record (type and offset) in order; it appends findings."""

    def __init__(self, pv: bool, version: int, findings: list[Finding]):
        self.pv = pv
        self.version = version
        self.findings = findings
        self.seen: set[int] = set()
        self.snapshot: set[int] = set()
        self.vcpu_records: set[tuple[int, int]] = set()
        self.basic_vcpus: set[int] = set()
        self.after_vcpu_state = False
        self.warned_pages_after_state = False

    def _error(self, offset: int, rtype: int, message: str) -> None:
        self.findings.append(Finding("error", message, offset, f"record {_name(rtype)}"))

    def see(self, rtype: int, offset: int) -> None:
        """Check that a record of ``rtype`` may come at this point."""
        try:
            rtype = RecType(rtype)
        except ValueError:
            return
        wrong_guest = (not self.pv and rtype in PV_ONLY) or (self.pv and rtype in HVM_ONLY)
        if wrong_guest:
            self._error(offset, rtype, f"{rtype.name} does not belong in "
                                       f"{'a PV' if self.pv else 'an HVM'} stream")
        if self.version < 3 and rtype in V3_ONLY:
            self._error(offset, rtype, f"{rtype.name} exists only in v3 streams, this is v2")
        if rtype in ONCE and rtype in self.seen:
            self._error(offset, rtype, f"second {rtype.name} record")
        if rtype in ONCE_PER_SNAPSHOT and rtype in self.snapshot:
            self._error(offset, rtype, f"second {rtype.name} record before a CHECKPOINT")
        if self.version >= 3:
            if rtype in STATIC and R.STATIC_DATA_END in self.seen:
                self._error(offset, rtype, f"{rtype.name} is static data and must come before "
                                           "STATIC_DATA_END")
            if rtype in DYNAMIC and R.STATIC_DATA_END not in self.seen:
                self._error(offset, rtype, f"{rtype.name} before STATIC_DATA_END (v3 streams "
                                           "send static data first)")
        if self.pv and rtype in NEEDS_PV_INFO and R.X86_PV_INFO not in self.seen:
            self._error(offset, rtype, f"{rtype.name} before X86_PV_INFO")
        if self.pv and rtype is R.PAGE_DATA and R.X86_PV_P2M_FRAMES not in self.seen:
            self._error(offset, rtype, "PAGE_DATA before X86_PV_P2M_FRAMES")
        if rtype is R.PAGE_DATA and self.after_vcpu_state and not self.warned_pages_after_state:
            self.warned_pages_after_state = True
            self.findings.append(Finding(
                "warning", "PAGE_DATA after the vCPU or shared-info state of the same snapshot "
                           "(Xen's saver sends memory first)", offset, "record PAGE_DATA"))
        if rtype in VCPU_STATE or rtype is R.SHARED_INFO:
            self.after_vcpu_state = True
        if rtype is R.CHECKPOINT:
            self.snapshot.clear()
            self.vcpu_records.clear()
            self.after_vcpu_state = False
        else:
            self.snapshot.add(rtype)
        self.seen.add(rtype)

    def vcpu(self, rtype: int, vcpu_id: int, offset: int) -> None:
        """Each vCPU sends each kind of state once per snapshot."""
        key = (rtype, vcpu_id)
        if key in self.vcpu_records:
            self._error(offset, rtype, f"second {_name(rtype)} record for vCPU {vcpu_id}")
        self.vcpu_records.add(key)
        if rtype == R.X86_PV_VCPU_BASIC:
            self.basic_vcpus.add(vcpu_id)

    def finish(self, offset: int) -> None:
        """At END: the records a restore cannot do without (xg_sr_restore_x86_pv.c, xg_sr_restore_x86_hvm.c)."""
        required = [R.PAGE_DATA]
        if self.pv:
            required += [R.X86_PV_INFO, R.X86_PV_P2M_FRAMES]
        else:
            required += [R.HVM_CONTEXT]
        if self.version >= 3:
            required.append(R.STATIC_DATA_END)
        for rtype in required:
            if rtype not in self.seen:
                self._error(offset, R.END, f"no {rtype.name} record: a restore needs one")
        if self.pv and 0 not in self.basic_vcpus:
            self._error(offset, R.END, "no X86_PV_VCPU_BASIC record for vCPU 0: the C restorer "
                                       "refuses the stream")
        expected = [R.X86_TSC_INFO] + ([R.SHARED_INFO] if self.pv else [])
        for rtype in expected:
            if rtype not in self.seen:
                self.findings.append(Finding("warning", f"no {rtype.name} record (Xen's saver "
                                                        "always sends one)", offset, "record END"))


def _name(rtype: int) -> str:
    try:
        return RecType(rtype).name
    except ValueError:
        return f"{rtype:#x}"
