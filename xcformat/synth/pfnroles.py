"""Where a synthetic PV guest keeps its structures: the pfn role of every page.

Apart from :mod:`.pvguest` (the page contents) so that :class:`~.spec.GuestSpec` can check
that a guest's sizes leave room for its structures without importing what builds them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .spec import GuestSpec

PTE_ENTRIES = 512                 # 8-byte PTEs: x86_64 and PAE alike


@dataclass(frozen=True)
class PfnRoles:
    """pfn roles of a PV guest.  Structures sit in one block from pfn 1; the rest is ordinary."""

    guest_bytes: int
    levels: int
    start_info: int
    store: int
    console: int
    gdt: dict
    frames: range
    top: int
    l3: int | None
    l2: range
    l1: range
    block_end: int

    def page_type(self, pfn: int) -> int:
        """The type nibble a 4.5 saver gives ``pfn`` (top table pinned; L2/L1 pinned on odd index,
        so that every page-table type occurs)."""
        if pfn == self.top:
            return 0x8 | self.levels
        if pfn == self.l3:
            return 0x3
        if pfn in self.l2:
            return 0x2 | ((pfn - self.l2.start) & 1) << 3
        if pfn in self.l1:
            return 0x1 | ((pfn - self.l1.start) & 1) << 3
        return 0x0

    def is_table(self, pfn: int) -> bool:
        return self.top <= pfn < self.block_end


def frame_count(p2m_size: int, guest_bytes: int) -> int:
    """P2M_FL_ENTRIES of tools/libxc/xg_save_restore.h: ceil(p2m_size / (4096 / G))."""
    per_page = 4096 // guest_bytes
    return -(-p2m_size // per_page)


@functools.lru_cache(maxsize=32)
def pfn_roles(spec: GuestSpec) -> PfnRoles:
    g = spec.guest_bits // 8
    levels = 4 if g == 8 else 3
    n_l1 = -(-spec.pages // PTE_ENTRIES)
    n_l2 = -(-n_l1 // PTE_ENTRIES)
    if levels == 3 and n_l2 > 3:
        raise ValueError("a 32-bit PAE guest maps at most 3 GiB here (L3 slot 3 is Xen's)")
    pfn = 1
    start_info, store, console = pfn, pfn + 1, pfn + 2
    pfn += 3
    gdt = {vcpu: pfn + i for i, vcpu in enumerate(spec.vcpus)}
    pfn += len(gdt)
    n_frames = frame_count(spec.p2m_size, g)
    frames = range(pfn, pfn + n_frames)
    top = frames.stop
    l3 = top + 1 if levels == 4 else None
    l2 = range((l3 or top) + 1, (l3 or top) + 1 + n_l2)
    l1 = range(l2.stop, l2.stop + n_l1)
    if l1.stop >= spec.pages:
        raise ValueError(f"a PV guest with these vcpus and p2m_size needs more than {l1.stop} "
                         f"pages (has {spec.pages})")
    return PfnRoles(g, levels, start_info, store, console, gdt, frames, top, l3, l2, l1, l1.stop)
