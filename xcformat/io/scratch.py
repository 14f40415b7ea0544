"""A scratch file for writers that must reorder what they receive (the core-dump writer sorts a
save image's pages by pfn).

The file is unlinked at once, so it disappears with the process whatever happens.  Appends go
through the fadvise write-behind of :mod:`.sink` (writeback started at once, each chunk dropped
from the page cache two chunks later) and every read-back is dropped after it, so spilling a
large image leaves almost nothing of it in dom0's page cache.
"""

from __future__ import annotations

import os
import tempfile

from ..errors import EnvironmentProblem
from .sink import _FadviseWrite


class Scratch:
    """An unlinked temporary file beside the output, appended to and read back."""

    def __init__(self, near: str | None = None) -> None:
        directory = os.path.dirname(os.path.abspath(near)) if near else None
        try:
            self._file = tempfile.TemporaryFile(prefix=".xcformat-scratch.", dir=directory)
        except OSError:
            try:
                self._file = tempfile.TemporaryFile(prefix=".xcformat-scratch.")
            except OSError as exc:
                raise EnvironmentProblem(f"cannot create a scratch file: {exc.strerror}") \
                    from None
        self._fd = self._file.fileno()
        self._write = _FadviseWrite(self._fd)
        self.size = 0

    def fileno(self) -> int:
        """The file descriptor (for residency checks)."""
        return self._fd

    def append(self, data) -> int:
        """Append ``data``; return the offset it was written at."""
        at = self.size
        view = memoryview(data).cast("B")
        try:
            self._write(view, at)
        except OSError as exc:
            raise EnvironmentProblem(f"scratch file: write failed: {exc.strerror}") from None
        self.size += len(view)
        return at

    def read_into(self, offset: int, target: memoryview) -> None:
        """Fill ``target`` with the bytes at ``offset`` (which must have been appended), then
        drop them from the page cache."""
        if offset + len(target) > self.size:
            raise ValueError("scratch read past what was written")
        start, length = offset, len(target)
        while target:
            got = os.preadv(self._fd, [target], offset)
            if got <= 0:
                raise EnvironmentProblem("scratch file: short read")
            target = target[got:]
            offset += got
        os.posix_fadvise(self._fd, start, length, os.POSIX_FADV_DONTNEED)

    def close(self) -> None:
        """Close (and so delete) the file."""
        self._file.close()

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
