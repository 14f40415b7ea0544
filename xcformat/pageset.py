"""Which pfns an image has sent data for, in bounded memory: one bit per pfn.

The bitmap is sized by ``p2m_size`` when the image states it and grows (doubling) with the highest
pfn seen when it does not; either way it stops at :data:`LIMIT` pfns (32 MiB of bits, the
legacy format's whole pfn space, 28 bits), beyond which the distinct count is unknown (None).
A set would cost ~60 bytes a pfn; the bitmap costs 1/8 byte a pfn of address space.
"""

from __future__ import annotations

from collections.abc import Sequence

#: Highest pfn + 1 the bitmap covers (2^28 pfns = 1 TiB of guest memory, 32 MiB of bitmap).
LIMIT = 1 << 28


class PageSet:
    def __init__(self, p2m_size: int | None = None) -> None:
        self.bits = bytearray((min(p2m_size or 0, LIMIT) + 7) // 8)
        self.beyond = False     # a pfn at or past LIMIT was seen: the count is unknown

    def add(self, pfns: Sequence[int]) -> None:
        if not pfns or self.beyond:
            return
        top = max(pfns)
        if top >= LIMIT:
            self.beyond = True
            self.bits = bytearray()
            return
        need = top // 8 + 1
        if need > len(self.bits):
            grown = min(max(need, 2 * len(self.bits)), LIMIT // 8)
            self.bits.extend(bytes(grown - len(self.bits)))
        bits = self.bits
        for pfn in pfns:
            bits[pfn >> 3] |= 1 << (pfn & 7)

    def count(self) -> int | None:
        """Distinct pfns added, or None when one lay beyond :data:`LIMIT`."""
        if self.beyond:
            return None
        return int.from_bytes(self.bits, "little").bit_count()
