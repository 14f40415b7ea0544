"""What each legacy-stream variant writes, as data (one row per variant, no if-chains elsewhere).

Facts from the savers of each Xen release (``tools/libxc/xc_domain_save.c`` and, before 3.1,
``xc_linux_save.c`` and ``xc_hvm_save.c``); the comments say what changed when, and
docs/reference/recognising.rst lists the features by release.  The generator in this package reads these rows and nothing else to
decide what a variant's bytes contain.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

#: HVM parameter chunks in the order 4.5 emits them with their first release.
HVM_PARAM_CHUNKS = (-14, -3, -15, -16, -17, -4, -8, -10, -11, -19, -20)

#: First Xen release that could write each chunk id (spec/legacy.md, the chunks' "Introduced").
CHUNK_SINCE = {
    -1: "3.0", -2: "3.1", -3: "3.3", -4: "3.4", -5: "4.0", -6: "4.0", -7: "4.0", -8: "4.1",
    -9: "4.1", -10: "4.1", -11: "4.2", -12: "4.2", -13: "4.2", -14: "4.2", -15: "4.2",
    -16: "4.2", -17: "4.2", -18: "4.2", -19: "4.5", -20: "4.5",
}

QEMU_XEND = "QemuDeviceModelRecord"      # raw qemu state up to EOF
QEMU_LIBXL = "DeviceModelRecord0002"     # u32 length + state
QEMU_REMUS = "RemusDeviceModelState"     # u32 length + state, once per checkpoint
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
    ext_context_size: int         #: the size field of the 128-byte extended context
    hvm_cpu_record: int           #: length of an HVM context CPU record (typecode 2)
    wrappers: frozenset
    qemu_default: str | None
    qemu_allowed: frozenset


_ALL_PARAMS = frozenset(HVM_PARAM_CHUNKS)

# The last legacy layout, libxl (xl) era.  The others are written as differences to it.
_V45 = Variant(
    name="4.5", xen="4.5", guests=frozenset({"pv", "hvm"}), ext_info="full", same_width=False,
    vcpu_info=True, tsc=True, last_checkpoint=True, toolstack=True, checkpointed=False,
    typed_hvm_pfns=True, hvm_tail="magic", hvm_hole_skipped=False, xtab_pv="zero",
    xtab_hvm="zero", hvm_params=_ALL_PARAMS, xsave=True, tmem=True, broken=True, xalloc=True,
    max_vcpu_id=4095, ext_context_size=56, hvm_cpu_record=1024,
    wrappers=frozenset({None, "xl"}), qemu_default=QEMU_LIBXL,
    # The same libxc layout went out of xend in 4.1-4.4, with xend's raw qemu record after it.
    qemu_allowed=frozenset({None, *QEMU_RECORDS}))
# xend Remus, 4.0-4.4: body+tail repeat, no -9; xend registers no
# toolstack callback, so no -18 either.
_REMUS = replace(
    _V45, name="remus", xen="4.0-4.4", last_checkpoint=False, toolstack=False,
    checkpointed=True, hvm_params=_ALL_PARAMS - {-19, -20}, wrappers=frozenset({None, "xend"}),
    qemu_default=QEMU_REMUS, qemu_allowed=frozenset({None, QEMU_LIBXL, QEMU_REMUS}))  # xl remus
# 3.2: ext-info for every PV guest, extv, 32-on-64; -2 is the only chunk; 3.1-3.3 HVM
# savers skip the VGA hole; XTAB keeps MFN bits (PV) or the pfn (HVM).
_V32 = replace(
    _V45, name="3.2", xen="3.2", tsc=False, last_checkpoint=False, toolstack=False,
    hvm_hole_skipped=True, xtab_pv="mfn", xtab_hvm="pfn", hvm_params=frozenset(), xsave=False,
    tmem=False, broken=False, xalloc=False, max_vcpu_id=63, ext_context_size=32,
    hvm_cpu_record=1016, wrappers=frozenset({None, "xend"}), qemu_default=QEMU_XEND,
    qemu_allowed=frozenset({None, QEMU_XEND}))
# 3.1: -2 and the all-vcpu tail; ext-info still PAE-only; guest width = tool width.
_V31 = replace(_V32, name="3.1", xen="3.1", ext_info="pae", same_width=True,
               ext_context_size=0)
# 2007 PV (= released 3.0.3/3.0.4) of a PAE guest with extended cr3: lone "vcpu" block,
# no -2, vcpu 0 only.
_V304 = replace(_V31, name="3.0.4-pae", xen="3.0.3-3.0.4", guests=frozenset({"pv"}),
                vcpu_info=False, max_vcpu_id=0, qemu_default=None, qemu_allowed=frozenset({None}))
# 2007 PV without ext-info (3.0.0-3.0.4, any guest but PAE+extended-cr3).
_V30 = replace(_V304, name="3.0", xen="3.0", ext_info="none")
# The unreleased 2007 HVM development layout (xen-unstable 2007-01-18..2007-04-11).
_V2007 = replace(_V30, name="2007-hvm", xen="unreleased (xen-unstable 2007-01..04)",
                 guests=frozenset({"hvm"}), typed_hvm_pfns=False, hvm_tail="2007",
                 qemu_default=QEMU_XEND, qemu_allowed=frozenset({None, QEMU_XEND}))

VARIANTS: dict[str, Variant] = {v.name: v for v in (_V45, _REMUS, _V32, _V31, _V304, _V30,
                                                     _V2007)}


def version_key(version: str) -> tuple[int, ...]:
    """``"3.0.3"`` → ``(3, 0, 3)`` for comparisons."""
    return tuple(int(part) for part in version.split("."))
