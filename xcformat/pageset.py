"""Which pfns an image has sent data for, in memory proportional to the pfns present.

One bit per pfn, in 4 KiB chunks of the bitmap (32768 pfns each) allocated where a pfn is added:
a dense guest costs 1/8 byte a pfn, and a page at pfn 0x0ffffffe costs one chunk, not a bitmap
up to it.  (A set would cost ~60 bytes a pfn.)
"""

from __future__ import annotations

from collections.abc import Sequence

#: Bytes of bitmap per chunk.
CHUNK_BYTES = 4096
_CHUNK_SHIFT = 15    # log2 of the pfns a chunk covers (CHUNK_BYTES * 8)


class PageSet:
    def __init__(self) -> None:
        self.chunks: dict[int, bytearray] = {}

    def add(self, pfns: Sequence[int]) -> None:
        chunks, key, bits = self.chunks, -1, bytearray()
        for pfn in pfns:
            if pfn >> _CHUNK_SHIFT != key:
                key = pfn >> _CHUNK_SHIFT
                bits = chunks.get(key)
                if bits is None:
                    bits = chunks[key] = bytearray(CHUNK_BYTES)
            bits[(pfn >> 3) & (CHUNK_BYTES - 1)] |= 1 << (pfn & 7)

    def count(self) -> int:
        """Distinct pfns added."""
        return sum(int.from_bytes(bits, "little").bit_count() for bits in self.chunks.values())
