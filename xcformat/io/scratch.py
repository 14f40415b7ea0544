"""A scratch file for writers that must reorder what they receive and cannot read it back from
their input (the core-dump writer sorts the pages of a save image that arrives on a pipe).

The file is unlinked at once, so it disappears with the process whatever happens.  It is written
through a :class:`~.sink.Sink` and read back through a :class:`~.source.Source` on the same
descriptor, settled in the output's I/O mode: with direct I/O neither the spill nor the read-back
goes through the page cache; uncached and fadvise I/O drop what they wrote and read.
"""

from __future__ import annotations

import os
import tempfile

from ..errors import EnvironmentProblem
from .modes import IoMode, settle
from .sink import Sink
from .source import Source


class Scratch:
    """An unlinked temporary file beside the output, appended to and read back."""

    def __init__(self, near: str | None = None, mode: IoMode | str = IoMode.AUTO) -> None:
        directory = os.path.dirname(os.path.abspath(near)) if near else tempfile.gettempdir()
        try:
            self._file = tempfile.TemporaryFile(prefix=".xcformat-scratch.", dir=directory)
        except OSError:
            directory = tempfile.gettempdir()
            try:
                self._file = tempfile.TemporaryFile(prefix=".xcformat-scratch.", dir=directory)
            except OSError as exc:
                raise EnvironmentProblem(f"cannot create a scratch file: {exc.strerror}") \
                    from None
        fd = self._file.fileno()
        name = f"scratch file in {directory}"
        try:
            plan = settle(fd, directory, mode, write=True)
        except BaseException:
            self._file.close()
            raise
        self._sink = Sink(fd, name, plan=plan, stream=False)
        self._source = Source(fd, name, plan=plan, close=False, window=0)
        self._flushed = True

    @property
    def mode(self) -> IoMode:
        """The I/O mode the scratch file settled on."""
        return self._sink.mode

    @property
    def size(self) -> int:
        return self._sink.offset

    def fileno(self) -> int:
        """The file descriptor (for residency checks)."""
        return self._file.fileno()

    def append(self, data) -> int:
        """Append ``data``; return the offset it was written at."""
        at = self._sink.offset
        self._sink.write(data)
        self._flushed = False
        return at

    def read_into(self, offset: int, target: memoryview) -> None:
        """Fill ``target`` with the bytes at ``offset`` (which must have been appended)."""
        if offset + len(target) > self.size:
            raise ValueError("scratch read past what was written")
        if not self._flushed:
            self._finish_writing()
        self._source.pread_into(offset, target, "scratch")

    def _finish_writing(self) -> None:
        """Push what was appended to the file; outside buffered I/O wait for it to be on disk,
        so that the page cache can drop what is still held of it (dirty pages it keeps)."""
        self._sink.flush()
        if self.mode is not IoMode.BUFFERED:
            fd = self.fileno()
            os.fdatasync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        self._flushed = True

    def close(self) -> None:
        """Close (and so delete) the file."""
        try:
            self._sink.close()
            self._source.close()
        finally:
            self._file.close()

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
