"""Page-batch entries packed as little-endian words with the page type in the top 4 bits
(legacy u32 ``type << 28 | pfn``; aligned v1 u32 or u64), converted by bytes operations on whole
batches instead of a Python loop per entry: the type is the high nibble of each word's last byte.
"""

from __future__ import annotations

import sys
from array import array

_HIGH_NIBBLE = bytes(b >> 4 for b in range(256))
_LOW_NIBBLE = bytes(b & 0xF for b in range(256))
_TO_HIGH_NIBBLE = bytes((b << 4) & 0xFF for b in range(256))
_CODES = {4: "I", 8: "Q"}


def split_typed(packed: bytes | memoryview, size: int) -> tuple[bytes, tuple[int, ...]]:
    """``size``-byte words -> (types, pfns without the type bits)."""
    low = bytearray(packed)
    top = low[size - 1::size]
    low[size - 1::size] = top.translate(_LOW_NIBBLE)
    words = array(_CODES[size], low)
    if sys.byteorder != "little":
        words.byteswap()
    return bytes(top.translate(_HIGH_NIBBLE)), tuple(words)


def pack_typed(pfns: tuple[int, ...], types: bytes, size: int) -> bytes:
    """The inverse: every pfn must leave its word's top 4 bits clear, every type be <= 0xF."""
    words = array(_CODES[size], pfns)
    if sys.byteorder != "little":
        words.byteswap()
    packed = bytearray(words.tobytes())
    last = packed[size - 1::size]
    packed[size - 1::size] = (int.from_bytes(last, "little")
                              | int.from_bytes(types.translate(_TO_HIGH_NIBBLE), "little")
                              ).to_bytes(len(last), "little")
    return bytes(packed)


_XTAB = 0xF


def split_fillers(pfns: tuple[int, ...], types: bytes
                  ) -> tuple[tuple[int, ...], bytes, tuple[tuple[int, int], ...]]:
    """Entries that name a page, and the XTAB ones as ``PageBatch.fillers`` (index, pfn bits)."""
    keep = [i for i, t in enumerate(types) if t != _XTAB]
    fillers = tuple((i, p) for i, (p, t) in enumerate(zip(pfns, types)) if t == _XTAB)
    return tuple(pfns[i] for i in keep), bytes(types[i] for i in keep), fillers


def with_fillers(pfns: tuple[int, ...], types: bytes,
                 fillers: tuple[tuple[int, int], ...]) -> tuple[tuple[int, ...], bytes]:
    """The inverse: each filler back at its index, as an XTAB entry."""
    all_pfns, all_types = list(pfns), bytearray(types)
    for index, bits in fillers:
        all_pfns.insert(index, bits)
        all_types.insert(index, _XTAB)
    return tuple(all_pfns), bytes(all_types)
