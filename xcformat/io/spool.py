"""Bytes a writer must hand on later and in another order than they came (a dump's pages,
sorted by pfn), kept without holding them in memory.

A range that lies in the input the sink was told it may read again (``Sink.reread``, a
seekable file) is kept as
its offset there, so it is read once more but never copied.  Anything else (an input on a pipe,
bytes a reader made up) is appended to a :class:`~.scratch.Scratch` file beside the output and
in the output's I/O mode.  A kept range is named by one integer *location*, so that a writer can
keep millions of them in an array: an input offset ``o`` is ``o``, a scratch offset ``o`` is
``~o`` (negative).
"""

from __future__ import annotations

from .scratch import Scratch
from .sink import ReadAt, Sink


class Spool:
    """Kept ranges of bytes, in the input where it can be read again, else in a scratch file."""

    def __init__(self, near: Sink, field: str = "kept bytes") -> None:
        self._near = near
        self._field = field
        reread = near.reread
        self._reread = reread if reread is not None and reread.seekable else None
        self._scratch: Scratch | None = None
        #: Bytes that had to be copied to the scratch file.
        self.spilled = 0

    def keep(self, data: memoryview, offset: int | None) -> int:
        """Keep ``data``, which lies at input ``offset`` where that is known (None where it
        does not lie in the input); return the location of its first byte."""
        if offset is not None and self._reread is not None:
            return offset
        if self._scratch is None:
            self._scratch = Scratch(near=self._near.name, mode=self._near.mode)
        self.spilled += len(data)
        return ~self._scratch.append(data)

    @staticmethod
    def after(location: int, n: int) -> int:
        """The location ``n`` bytes after ``location`` in the same kept range."""
        return location + n if location >= 0 else location - n

    def where(self, location: int) -> tuple[ReadAt, int]:
        """How to read the bytes at ``location``: a reader and its file offset."""
        if location >= 0:
            return self._read_input, location
        return self._scratch.read_into, ~location

    def _read_input(self, offset: int, target: memoryview) -> None:
        self._reread.pread_into(offset, target, self._field)

    def close(self) -> None:
        """Delete the scratch file, if one was needed."""
        if self._scratch is not None:
            self._scratch.close()
            self._scratch = None
