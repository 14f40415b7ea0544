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
