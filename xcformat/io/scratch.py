"""A scratch file for writers that must reorder what they receive (the core-dump writer sorts a
save image's pages by pfn).

The file is unlinked at once, so it disappears with the process whatever happens.  Appends are
written back and dropped from the page cache every :data:`FLUSH_BYTES`, so spilling a large image
does not fill dom0's page cache; reads into caller buffers go through ``preadv``.
"""

from __future__ import annotations

import os
import tempfile

from ..errors import EnvironmentProblem

FLUSH_BYTES = 64 << 20


class Scratch:
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
        self.size = 0
        self._dirty_from = 0

    def append(self, data) -> int:
        """Append ``data``; return the offset it was written at."""
        at = self.size
        view = memoryview(data)
        try:
            while view:
                done = os.pwrite(self._fd, view, self.size)
                view = view[done:]
                self.size += done
        except OSError as exc:
            raise EnvironmentProblem(f"scratch file: write failed: {exc.strerror}") from None
        if self.size - self._dirty_from >= FLUSH_BYTES:
            self._drop_cache()
        return at

    def _drop_cache(self) -> None:
        os.fdatasync(self._fd)
        os.posix_fadvise(self._fd, self._dirty_from, self.size - self._dirty_from,
                         os.POSIX_FADV_DONTNEED)
        self._dirty_from = self.size

    def read_into(self, offset: int, target: memoryview) -> None:
        """Fill ``target`` with the bytes at ``offset`` (which must have been appended)."""
        if offset + len(target) > self.size:
            raise ValueError("scratch read past what was written")
        while target:
            got = os.preadv(self._fd, [target], offset)
            if got <= 0:
                raise EnvironmentProblem("scratch file: short read")
            target = target[got:]
            offset += got

    def forget(self, offset: int, length: int) -> None:
        """Drop ``[offset, offset+length)`` from the page cache (after reading it back)."""
        os.posix_fadvise(self._fd, offset, length, os.POSIX_FADV_DONTNEED)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
