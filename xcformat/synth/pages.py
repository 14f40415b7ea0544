"""Ordinary page contents: cheap, deterministic, and built a whole batch at a time.

A page is a 4096-byte filler that depends on the seed, stamped at offsets 0, 2048 and 4088 with an
8-byte word ``pfn | version << 32`` (so a reader that shifts, truncates or swaps pages is caught at
either end and in the middle).  :func:`pattern_pages` builds n pages with one multiplication and
three strided copies instead of a Python loop over pages; :class:`PageBuilder` goes further for
streaming: the filler stays in one reused buffer and only the stamps change from batch to batch.
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
    buf = bytearray(filler(seed)) * len(pfns)
    _stamp_all(buf, pfns, version)
    return buf


def _stamp_all(buf, pfns, version: int) -> None:
    if not pfns:
        return
    with memoryview(buf) as view, view[:len(pfns) * PAGE].cast("Q") as words:
        stamps = array("Q", [stamp(pfn, version) for pfn in pfns])
        for index in STAMPS:
            words[index::_WORDS] = stamps


class PageBuilder:
    """Batches of pattern pages in one reused buffer: :meth:`build` returns a view that is valid
    until the next call.  Pages the caller overwrites (:meth:`patch`) get their filler back on
    the next call, so the bulk of the buffer is never copied again."""

    def __init__(self, seed: int, capacity: int = 1024) -> None:
        self._filler = filler(seed)
        self._buf = bytearray(self._filler) * capacity
        self._patched: list[int] = []

    def build(self, pfns, version: int = 0) -> memoryview:
        for index in self._patched:
            self._buf[index * PAGE:(index + 1) * PAGE] = self._filler
        self._patched = []
        _stamp_all(self._buf, pfns, version)
        return memoryview(self._buf)[:len(pfns) * PAGE]

    def patch(self, index: int, page: bytes) -> None:
        """Replace page ``index`` of the last build with ``page``."""
        self._buf[index * PAGE:(index + 1) * PAGE] = page
        self._patched.append(index)
