"""Sequential (and, on regular files, random-access) reading of an image.

A :class:`Source` hands out memoryviews into its own window.  A view is valid until the next
call on the source; callers that keep bytes copy them.  Every shortfall becomes a
:class:`~xcformat.errors.TruncatedError` naming the file, the offset and the field being read.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import stat
import sys
from collections.abc import Iterator

from ..errors import EnvironmentProblem, FormatError, TruncatedError, UnsupportedError
from .modes import IoMode

WINDOW = 8 << 20
#: The largest single read a format may ask for; larger structures are read in pieces.
MAX_READ = 64 << 20


class Source:
    """An input image, read front to back through one window."""

    def __init__(self, fd: int, name: str, *, mode: IoMode = IoMode.BUFFERED,
                 close: bool = True):
        self.name = name
        self.mode = mode
        self._fd = fd
        self._close = close
        st = os.fstat(fd)
        self.seekable = stat.S_ISREG(st.st_mode) or stat.S_ISBLK(st.st_mode)
        self.size: int | None = st.st_size if stat.S_ISREG(st.st_mode) else None
        self._buf = mmap.mmap(-1, WINDOW)
        self._view = memoryview(self._buf)
        self._start = 0      # first unread byte in the window
        self._end = 0        # end of valid bytes in the window
        self._pos = 0        # file offset of window[_start]
        self._eof = False

    # -- errors ---------------------------------------------------------------------------
    def error(self, message: str, field: str | None = None, offset: int | None = None,
              cls: type[FormatError] = FormatError) -> FormatError:
        """A format error located in this file (at the current offset unless one is given)."""
        return cls(message, file=self.name, offset=self._pos if offset is None else offset,
                   field=field)

    # -- sequential reading ---------------------------------------------------------------
    @property
    def offset(self) -> int:
        """File offset of the next byte :meth:`read` returns."""
        return self._pos

    def _fill(self, need: int) -> int:
        """Make at least ``need`` unread bytes available unless the input ends; return how many."""
        avail = self._end - self._start
        if avail >= need or self._eof:
            return avail
        if need > len(self._buf) - self._start:
            if need > len(self._buf):
                self._grow(need)
            # Move the unread tail to the front; views handed out earlier are stale by contract.
            self._view[:avail] = self._view[self._start:self._end]
            self._start, self._end = 0, avail
        while self._end - self._start < need:
            got = self._read_into(self._view[self._end:])
            if got == 0:
                self._eof = True
                break
            self._end += got
        return self._end - self._start

    def _grow(self, need: int) -> None:
        size = -(-need // mmap.PAGESIZE) * mmap.PAGESIZE
        bigger = mmap.mmap(-1, size)
        view = memoryview(bigger)
        avail = self._end - self._start
        view[:avail] = self._view[self._start:self._end]
        self._buf, self._view = bigger, view
        self._start, self._end = 0, avail

    def _read_into(self, target: memoryview) -> int:
        try:
            return os.readv(self._fd, [target])
        except OSError as exc:
            raise EnvironmentProblem(f"{self.name}: read failed at offset {self._pos + self._end - self._start:#x}: {exc.strerror}") from None

    def read(self, n: int, field: str) -> memoryview:
        """Exactly ``n`` bytes, or :class:`TruncatedError` naming ``field``."""
        if n < 0 or n > MAX_READ:
            raise self.error(f"refusing to read {n} bytes at once (limit {MAX_READ})", field)
        got = self._fill(n)
        if got < n:
            raise self.error(f"input ends after {got} of {n} bytes", field, cls=TruncatedError)
        view = self._view[self._start:self._start + n]
        self._start += n
        self._pos += n
        return view

    def read_upto(self, n: int) -> memoryview:
        """Up to ``n`` bytes (fewer only at the end of the input)."""
        got = self._fill(min(n, MAX_READ))
        n = min(n, got)
        view = self._view[self._start:self._start + n]
        self._start += n
        self._pos += n
        return view

    def peek(self, n: int) -> bytes:
        """Up to ``n`` bytes from the current offset, without consuming them."""
        got = self._fill(n)
        return bytes(self._view[self._start:self._start + min(n, got)])

    def at_eof(self) -> bool:
        return self._fill(1) == 0

    def skip(self, n: int, field: str) -> None:
        while n:
            step = min(n, WINDOW)
            self.read(step, field)
            n -= step

    def chunks(self, n: int, field: str, step: int = WINDOW) -> Iterator[memoryview]:
        """``n`` bytes as successive views of at most ``step`` bytes each."""
        while n:
            piece = self.read(min(n, step), field)
            n -= len(piece)
            yield piece

    # -- random access --------------------------------------------------------------------
    def pread(self, offset: int, n: int, field: str) -> bytes:
        """``n`` bytes at ``offset`` (regular files and block devices only)."""
        if not self.seekable:
            raise UnsupportedError(f"{self.name}: random access needs a regular file")
        if n < 0 or n > MAX_READ:
            raise self.error(f"refusing to read {n} bytes at once (limit {MAX_READ})", field,
                             offset)
        data = os.pread(self._fd, n, offset)
        if len(data) < n:
            raise self.error(f"input ends after {len(data)} of {n} bytes", field, offset,
                             cls=TruncatedError)
        return data

    def close(self) -> None:
        self._view.release()
        if self._close:
            os.close(self._fd)


@contextlib.contextmanager
def open_source(path: str, mode: IoMode | str = IoMode.AUTO) -> Iterator[Source]:
    """Open ``path`` (``-`` for standard input) for reading."""
    mode = IoMode(mode)
    if path == "-":
        source = Source(sys.stdin.fileno(), "<stdin>", mode=IoMode.BUFFERED, close=False)
    else:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise EnvironmentProblem(f"{path}: cannot open: {exc.strerror}") from None
        source = Source(fd, path, mode=IoMode.BUFFERED)
    try:
        yield source
    finally:
        source.close()
