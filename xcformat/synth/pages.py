"""Ordinary page contents: cheap, deterministic, and built a whole batch at a time.

A page is a 4096-byte filler that depends on the seed, stamped at offsets 0, 2048 and 4088 with an
8-byte word ``pfn | version << 32`` (so a reader that shifts, truncates or swaps pages is caught at
either end and in the middle).  :func:`pattern_pages` builds n pages with one multiplication and
three strided copies instead of a Python loop over pages.
"""

from __future__ import annotations

import functools
import struct
from array import array

PAGE = 4096
_WORDS = PAGE // 8
#: Word indexes of the three stamps in a page.
STAMPS = (0, _WORDS // 2, _WORDS - 1)


@functools.lru_cache(maxsize=8)
def filler(seed: int) -> bytes:
    """The seed's page background: a 16-byte unit ("SYNT", seed, ~seed, a counter) repeated."""
    seed &= 0xFFFFFFFF
    units = (struct.pack("<4sIII", b"SYNT", seed, seed ^ 0xFFFFFFFF, i) for i in range(PAGE // 16))
    return b"".join(units)


def stamp(pfn: int, version: int) -> int:
    return (pfn & 0xFFFFFFFF) | (version & 0xFFFFFFFF) << 32


def page_content(seed: int, pfn: int, version: int = 0) -> bytes:
    """The 4096 bytes of ordinary page ``pfn`` after its ``version``-th (re)send."""
    return bytes(pattern_pages(seed, [pfn], version))


def pattern_pages(seed: int, pfns, version: int = 0) -> bytearray:
    """``page_content`` of each pfn in ``pfns``, concatenated, built in bulk."""
    count = len(pfns)
    buf = bytearray(filler(seed)) * count
    if count:
        words = memoryview(buf).cast("Q")
        stamps = array("Q", [stamp(pfn, version) for pfn in pfns])
        for index in STAMPS:
            words[index::_WORDS] = stamps
        words.release()
    return buf
