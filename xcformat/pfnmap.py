"""Per-pfn values in memory proportional to the pfns present, not to the highest pfn.

An image can name one page at pfn 0x0ffffffe: an array indexed by pfn would then cost gigabytes
for a file of a few kilobytes.  :class:`PfnMap` keeps fixed-size chunks of consecutive pfns and
allocates a chunk only when a pfn in it is written, so a dense guest costs what a flat array
would and a sparse one costs a chunk per pfn present at most.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator


class PfnMap:
    """pfn -> integer (an :mod:`array` typecode's range); pfns never written read as their
    chunk's blank value, which ``blank(base)`` makes for the chunk starting at pfn ``base``."""

    def __init__(self, typecode: str, blank: Callable[[int], array] | int, chunk_bits: int = 9):
        self.chunk_bits = chunk_bits
        self.chunk_pfns = 1 << chunk_bits
        if isinstance(blank, int):
            template = array(typecode, [blank]) * self.chunk_pfns
            self._blank = lambda base: array(typecode, template)
        else:
            self._blank = blank
        self._chunks: dict[int, array] = {}
        self._last_key = -1
        self._last: array | None = None

    def _chunk(self, pfn: int, create: bool) -> array | None:
        key = pfn >> self.chunk_bits
        if key == self._last_key:
            return self._last
        chunk = self._chunks.get(key)
        if chunk is None:
            if not create:
                return None
            if pfn < 0:
                raise IndexError(f"pfn {pfn} is negative")
            chunk = self._chunks[key] = self._blank(key << self.chunk_bits)
        self._last_key, self._last = key, chunk
        return chunk

    def __getitem__(self, pfn: int) -> int:
        chunk = self._chunk(pfn, create=False)
        if chunk is None:
            return self._blank(pfn & ~(self.chunk_pfns - 1))[pfn & (self.chunk_pfns - 1)]
        return chunk[pfn & (self.chunk_pfns - 1)]

    def __setitem__(self, pfn: int, value: int) -> None:
        self._chunk(pfn, create=True)[pfn & (self.chunk_pfns - 1)] = value

    def swap(self, pfn: int, value: int) -> int:
        """Set ``pfn`` to ``value``; returns what it held."""
        chunk = self._chunk(pfn, create=True)
        slot = pfn & (self.chunk_pfns - 1)
        old, chunk[slot] = chunk[slot], value
        return old

    def put_run(self, first: int, values: array) -> array:
        """``values`` (an array of this map's typecode) at ``first``, ``first + 1``, ...;
        returns what those pfns held, in the same order."""
        done, mask, held = 0, self.chunk_pfns - 1, None
        while done < len(values):
            pfn = first + done
            slot = pfn & mask
            take = min(len(values) - done, self.chunk_pfns - slot)
            chunk = self._chunk(pfn, create=True)
            old = chunk[slot:slot + take]
            held = old if held is None else held + old
            chunk[slot:slot + take] = values[done:done + take]
            done += take
        return held if held is not None else values[:0]

    def chunks(self) -> Iterator[tuple[int, array]]:
        """(first pfn, values) of every allocated chunk, in ascending pfn order."""
        for key in sorted(self._chunks):
            yield key << self.chunk_bits, self._chunks[key]

    @property
    def allocated(self) -> int:
        """pfns held in memory (a multiple of the chunk size)."""
        return len(self._chunks) * self.chunk_pfns
