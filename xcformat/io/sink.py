"""Writing an image so that nothing incomplete ever stands at the output path.

The bytes go to a hidden temporary file beside the output; leaving the ``with`` block of
:func:`open_sink` normally fsyncs it and renames it into place.  Leaving the ``with`` block by an exception removes the temporary file.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator

from ..errors import EnvironmentProblem
from .modes import IoMode


class Sink:
    """An output image, written front to back."""

    def __init__(self, fd: int, name: str, *, mode: IoMode = IoMode.BUFFERED):
        self.name = name
        self.mode = mode
        self._fd = fd
        self.offset = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data)
        while view:
            try:
                done = os.write(self._fd, view)
            except OSError as exc:
                raise EnvironmentProblem(f"{self.name}: write failed at offset {self.offset:#x}: {exc.strerror}") from None
            view = view[done:]
            self.offset += done

    def flush(self) -> None:
        """Push everything written so far to the file (before fsync or handing off the fd)."""


@contextlib.contextmanager
def open_sink(path: str, mode: IoMode | str = IoMode.AUTO) -> Iterator[Sink]:
    """Open ``path`` (``-`` for standard output) for writing; the file appears only on success."""
    mode = IoMode(mode)
    if path == "-":
        sink = Sink(sys.stdout.fileno(), "<stdout>")
        yield sink
        sink.flush()
        return
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".partial",
                                   dir=directory)
    except OSError as exc:
        raise EnvironmentProblem(f"{path}: cannot create output: {exc.strerror}") from None
    sink = Sink(fd, path, mode=IoMode.BUFFERED)
    try:
        yield sink
        sink.flush()
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
