"""The input of an image as passes: a fresh :class:`~.source.Source` at its start for each
reading, over a path, the bytes of an image, or a binary file object.

A path is opened anew for each pass (standard input once).  An open file descriptor is reopened
through /proc for each pass, so that passes under way at once keep their own offsets; a pipe is
read once.  Bytes go into a memory file and a file object without a descriptor into an unnamed
temporary file, so that every pass reads a real descriptor.
"""

from __future__ import annotations

import builtins
import contextlib
import io as stdio
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import BinaryIO, TypeAlias

from ..errors import EnvironmentProblem, UnsupportedError
from .modes import IoMode
from .source import Source, open_source

#: What :func:`xcformat.open` reads: a path (``"-"``: standard input, as on the command line),
#: the bytes of a whole image, or a binary file object (read from where it stands).
Input: TypeAlias = "str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO"


class Passes:
    """Sources over one input, each at its start."""

    name: str

    def open(self) -> contextlib.AbstractContextManager[Source]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class _PathPasses(Passes):
    def __init__(self, path: str, io: IoMode):
        self.name = path
        self._path = path
        self._io = io
        self._once = path == "-"
        self._used = False

    def open(self) -> contextlib.AbstractContextManager[Source]:
        if self._once and self._used:
            raise UnsupportedError("standard input can be read only once")
        self._used = True
        return open_source(self._path, self._io)


class _FdPasses(Passes):
    """An open file descriptor, read from ``origin`` on each pass (once when not seekable);
    ``owned`` ones are closed with the image.  Each pass over a seekable one reopens it through
    /proc, so that passes under way at once (two ``Image.records()``) keep their own offsets."""

    def __init__(self, fd: int, name: str, *, owned: bool):
        self.name = name
        self._fd = fd
        self._owned = owned
        try:
            self._origin: int | None = os.lseek(fd, 0, os.SEEK_CUR)
        except OSError:
            self._origin = None          # a pipe or a socket: one pass
        self._used = False

    @contextlib.contextmanager
    def _source(self) -> Iterator[Source]:
        if self._origin is None:
            source = Source(self._fd, self.name, close=False)
        else:
            fd = os.open(f"/proc/self/fd/{self._fd}", os.O_RDONLY | os.O_CLOEXEC)
            os.lseek(fd, self._origin, os.SEEK_SET)
            source = Source(fd, self.name)
        try:
            yield source
        finally:
            source.close()

    def open(self) -> contextlib.AbstractContextManager[Source]:
        if self._origin is None and self._used:
            raise UnsupportedError(f"{self.name} can be read only once")
        self._used = True
        return self._source()

    def close(self) -> None:
        if self._owned:
            os.close(self._fd)


def passes_over(source: Input, io: IoMode) -> Passes:
    """Passes over ``source``; paths are read in I/O mode ``io``."""
    if isinstance(source, (str, os.PathLike)):
        return _PathPasses(os.fspath(source), io)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _FdPasses(_in_memory(memoryview(source)), "<bytes>", owned=True)
    name = name_of(source)
    try:
        fd = source.fileno()
    except (AttributeError, stdio.UnsupportedOperation):
        return _FdPasses(_spooled(source), name, owned=True)
    if source.seekable():
        os.lseek(fd, source.tell(), os.SEEK_SET)   # a buffered reader's fd may have read ahead
    return _FdPasses(fd, name, owned=False)


def name_of(thing: object) -> str:
    """What messages call an input or an output: the path, ``<bytes>``, or the file's name."""
    if isinstance(thing, (str, os.PathLike)):
        return str(os.fspath(thing))
    if isinstance(thing, (bytes, bytearray, memoryview)):
        return "<bytes>"
    name = getattr(thing, "name", None)
    return name if isinstance(name, str) else f"<{type(thing).__name__}>"


def _in_memory(data: memoryview) -> int:
    """A memory file holding ``data`` (the bytes are in memory already)."""
    fd = os.memfd_create("xcformat-image", os.MFD_CLOEXEC)
    try:
        with builtins.open(fd, "wb", closefd=False) as file:
            file.write(data)
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _spooled(source: BinaryIO) -> int:
    """An unnamed temporary file holding the rest of ``source`` (a file object with no file
    descriptor: its bytes are copied once, in chunks, so memory stays small)."""
    with tempfile.TemporaryFile() as spool:
        try:
            shutil.copyfileobj(source, spool, 1 << 20)
        except OSError as exc:
            raise EnvironmentProblem(f"{name_of(source)}: cannot spool: {exc}") from None
        spool.flush()
        fd = os.dup(spool.fileno())
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
