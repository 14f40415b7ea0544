"""What each legacy-stream variant writes, as data (one row per variant, no if-chains elsewhere).

Facts from the legacy fact sheet (``shared/formats/legacy-save-stream.md``) §2, §4, §5, §6; the
comments name the section.  The generator in this package reads these rows and nothing else to
decide what a variant's bytes contain.
"""

from __future__ import annotations

from dataclasses import dataclass

#: HVM parameter chunks in the order 4.5 emits them (§2.1 item 6) with their first release.
HVM_PARAM_CHUNKS = (-14, -3, -15, -16, -17, -4, -8, -10, -11, -19, -20)

#: First Xen release that could write each chunk id (§2.7 table, "first release" column).
CHUNK_SINCE = {
    -1: "3.0", -2: "3.1", -3: "3.3", -4: "3.4", -5: "4.0", -6: "4.0", -7: "4.0", -8: "4.1",
    -9: "4.1", -10: "4.1", -11: "4.2", -12: "4.2", -13: "4.2", -14: "4.2", -15: "4.2",
    -16: "4.2", -17: "4.2", -18: "4.2", -19: "4.5", -20: "4.5",
}

QEMU_XEND = "QemuDeviceModelRecord"      # raw qemu state up to EOF (§3.4)
QEMU_LIBXL = "DeviceModelRecord0002"     # u32 length + state (§3.4)
QEMU_REMUS = "RemusDeviceModelState"     # u32 length + state, once per checkpoint (§3.4)
QEMU_RECORDS = (QEMU_XEND, QEMU_LIBXL, QEMU_REMUS)


@dataclass(frozen=True)
class Variant:
    """One legacy layout.  ``ext_info``: "none", "pae" (a lone "vcpu" block, PAE guests only,
    3.0.3-3.1) or "full" ("vcpu" + "extv" [+ "xcnt"], 3.2+).  ``xtab_pv``/``xtab_hvm``: how an XTAB
    entry's low 28 bits look ("zero", "mfn" leftover bits, "pfn")."""

    name: str
    xen: str                      #: the release(s) that wrote it, as a reader should report them
    guests: frozenset[str]
    ext_info: str
    same_width: bool              #: guest width must equal toolstack width (no 32-on-64 before 3.2)
    vcpu_info: bool               #: writes chunk -2 and one tail context per online vcpu
    tsc: bool                     #: chunk -7
    last_checkpoint: bool         #: chunk -9
    toolstack: bool               #: chunk -18 (libxl registers the callback, xend does not)
    checkpointed: bool            #: Remus: body+tail repeat, no -9
    typed_hvm_pfns: bool          #: HVM batch entries carry type bits (False: 2007 bare pfns)
    hvm_tail: str                 #: "2007" (ctx, vcpu contexts, shinfo frame) or "magic" (3.1+)
    hvm_hole_skipped: bool        #: 3.1-3.3 skip the VGA hole; 3.4+ send its pfns as XTAB
    xtab_pv: str
    xtab_hvm: str
    hvm_params: frozenset[int]    #: HVM param chunk ids this variant may write
    xsave: bool                   #: "xcnt" and per-vcpu xsave records (4.1+)
    tmem: bool
    broken: bool                  #: BROKEN page type (4.3+)
    xalloc: bool                  #: XALLOC page type (4.2+, HVM)
    max_vcpu_id: int
    ext_context_size: int         #: the size field of the 128-byte extended context (§7.2)
    hvm_cpu_record: int           #: length of an HVM context CPU record (typecode 2)
    wrappers: frozenset
    qemu_default: str | None
    qemu_allowed: frozenset


_ALL_PARAMS = frozenset(HVM_PARAM_CHUNKS)

VARIANTS: dict[str, Variant] = {v.name: v for v in (
    # §2, §12: the last legacy layout, libxl (xl) era.
    Variant("4.5", "4.5", frozenset({"pv", "hvm"}), "full", False, True, True, True, True, False,
            True, "magic", False, "zero", "zero", _ALL_PARAMS, True, True, True, True, 4095, 56,
            1024, frozenset({None, "xl"}), QEMU_LIBXL, frozenset({None, *QEMU_RECORDS})),
    # §2.1 last paragraph, §3.4: xend Remus, 4.0-4.4: checkpoints repeat body+tail, never -9.
    Variant("remus", "4.0-4.4", frozenset({"pv", "hvm"}), "full", False, True, True, False, False,
            True, True, "magic", False, "zero", "zero", _ALL_PARAMS - {-19, -20}, True, True, True,
            True, 4095, 56, 1024, frozenset({None, "xend"}), QEMU_REMUS,
            frozenset({None, QEMU_LIBXL, QEMU_REMUS})),
    # §5 "3.2": ext-info for every PV guest, extv, 32-on-64; no chunks but -2.
    Variant("3.2", "3.2", frozenset({"pv", "hvm"}), "full", False, True, False, False, False,
            False, True, "magic", True, "mfn", "pfn", frozenset(), False, False, False, False, 63,
            32, 1016, frozenset({None, "xend"}), QEMU_XEND, frozenset({None, QEMU_XEND})),
    # §5 "3.1": -2 and all-vcpu tail; ext-info still PAE-only; guest width = tool width.
    Variant("3.1", "3.1", frozenset({"pv", "hvm"}), "pae", True, True, False, False, False,
            False, True, "magic", True, "mfn", "pfn", frozenset(), False, False, False, False, 63,
            0, 1016, frozenset({None, "xend"}), QEMU_XEND, frozenset({None, QEMU_XEND})),
    # §4.1: 2007 PV (= released 3.0.3/3.0.4) of a PAE guest with extended cr3: lone "vcpu" block.
    Variant("3.0.4-pae", "3.0.3-3.0.4", frozenset({"pv"}), "pae", True, False, False, False,
            False, False, True, "magic", True, "mfn", "pfn", frozenset(), False, False, False,
            False, 0, 0, 0, frozenset({None, "xend"}), None, frozenset({None})),
    # §4.1: 2007 PV without ext-info (3.0.0-3.0.4, any guest but PAE+extended-cr3).
    Variant("3.0", "3.0", frozenset({"pv"}), "none", True, False, False, False, False, False,
            True, "magic", True, "mfn", "pfn", frozenset(), False, False, False, False, 0, 0, 0,
            frozenset({None, "xend"}), None, frozenset({None})),
    # §4.2: the unreleased 2007 HVM development layout (xen-unstable 2007-01-18..2007-04-11).
    Variant("2007-hvm", "unreleased (xen-unstable 2007-01..04)", frozenset({"hvm"}), "none",
            True, False, False, False, False, False, False, "2007", True, "mfn", "pfn",
            frozenset(), False, False, False, False, 0, 0, 0, frozenset({None, "xend"}),
            QEMU_XEND, frozenset({None, QEMU_XEND})),
)}


def version_key(version: str) -> tuple[int, ...]:
    """``"3.0.3"`` → ``(3, 0, 3)`` for comparisons."""
    return tuple(int(part) for part in version.split("."))
