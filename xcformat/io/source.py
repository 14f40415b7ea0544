"""Sequential (and, on regular files, random-access) reading of an image.

A :class:`Source` hands out memoryviews into its own window.  A view is valid until the next
call on the source; callers that keep bytes copy them.  Every shortfall becomes a
:class:`~xcformat.errors.TruncatedError` naming the file, the offset and the field being read.

The window is page-aligned memory; a refill reads what was asked for and :data:`READ_AHEAD` more.
With direct I/O its first byte always sits at a block-aligned file offset and every read is whole
blocks, so the unaligned head and tail of what a format asks for come out of the same window (the
bounce buffer).  Uncached
reads pass ``RWF_DONTCACHE``; fadvise reads drop what was consumed from the page cache.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import stat
import sys
from collections.abc import Iterator

from ..errors import EnvironmentProblem, FormatError, TruncatedError, UnsupportedError
from . import native, pipes
from .buffers import address_of, aligned_buffer
from .modes import IoMode, Plan, settle
from .notices import notice

WINDOW = 8 << 20
#: A refill reads this much beyond what was asked for (the next structure's head, typically),
#: so the unread tail moved to the window's front at the next refill stays this small instead
#: of whatever a full window leaves behind (up to a whole batch of pages, per batch).
READ_AHEAD = 128 << 10
#: The largest single read a format may ask for; larger structures are read in pieces.
MAX_READ = 64 << 20


class Source:
    """An input image, read front to back through one window."""

    def __init__(self, fd: int, name: str, *, mode: IoMode = IoMode.BUFFERED,
                 close: bool = True, plan: Plan | None = None, window: int = WINDOW):
        self.name = name
        plan = plan or Plan.assumed(mode)
        self.mode = plan.mode
        self._fd = fd
        self._close = close
        st = os.fstat(fd)
        self.seekable = stat.S_ISREG(st.st_mode) or stat.S_ISBLK(st.st_mode)
        self.size: int | None = st.st_size if stat.S_ISREG(st.st_mode) else None
        if stat.S_ISBLK(st.st_mode):
            self.size = os.lseek(fd, 0, os.SEEK_END)  # a block device's size is its end
            os.lseek(fd, 0, os.SEEK_SET)
        # Offsets count from where the fd stood (standard input may be a file read part-way).
        self._origin = os.lseek(fd, 0, os.SEEK_CUR) if self.seekable else 0
        #: Direct-I/O block: window and reads are multiples of it (1 when any size will do).
        self.block = plan.block
        self._unit = max(self.block, mmap.PAGESIZE)
        self._memory_align = plan.alignment.memory if plan.alignment else 1
        self._flags = native.RWF_DONTCACHE if self.mode is IoMode.UNCACHED else 0
        self._dropped = 0    # fadvise: the page cache before this offset has been released
        self._retry_from = 0  # ... and is advised once more from here
        self._buf = aligned_buffer(self._round(max(window, 2 * self._unit)))
        self._view = memoryview(self._buf)
        self._start = 0      # first unread byte in the window
        self._end = 0        # end of valid bytes in the window
        self._pos = 0        # file offset of window[_start]
        self._eof = False
        #: :meth:`page_data` seeks over page bytes instead of reading them.
        self.skim = False
        self._zeros = memoryview(b"")

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

    def _round(self, n: int) -> int:
        return -(-n // self._unit) * self._unit

    def _fill(self, need: int) -> int:
        """Make at least ``need`` unread bytes available unless the input ends; return how many."""
        avail = self._end - self._start
        if avail >= need or self._eof:
            return avail
        if need + self._unit > len(self._buf) - self._start:
            # Move the unread bytes to the front, keeping the window's first byte at a page-
            # (and block-) aligned file offset, so aligned data stays aligned in memory; views
            # handed out earlier are stale by contract.
            keep = self._start - self._start % self._unit
            if need + self._unit > len(self._buf) - (self._start - keep):
                self._grow(need + 2 * self._unit, keep)
            else:
                self._view[:self._end - keep] = self._view[keep:self._end]
            self._start, self._end = self._start - keep, self._end - keep
            self._release_consumed()
        while self._end - self._start < need:
            room = len(self._buf) - self._end
            want = min(room - room % self.block,
                       self._round(need - (self._end - self._start) + READ_AHEAD))
            got = self._read_into(self._view[self._end:self._end + want])
            self._end += got
            # A short direct read means the end of the file: the next offset is unaligned.
            if got == 0 or (self.block > 1 and got < want):
                self._eof = True
                break
        return self._end - self._start

    def _grow(self, size: int, keep: int) -> None:
        bigger = aligned_buffer(self._round(size))
        view = memoryview(bigger)
        view[:self._end - keep] = self._view[keep:self._end]
        # The old window goes with the last view a caller still holds of it.
        self._buf, self._view = bigger, view

    def _release_consumed(self) -> None:
        """fadvise: let the kernel drop what has been read (up to the window's start).

        Each range is advised twice, now and at the next refill: pages still in another CPU's
        LRU batch are skipped by the first DONTNEED (it drains only the local CPU's).
        """
        if self.mode is not IoMode.FADVISE:
            return
        upto = self._pos - self._start
        upto -= upto % mmap.PAGESIZE
        if upto > self._dropped:
            os.posix_fadvise(self._fd, self._retry_from, upto - self._retry_from,
                             os.POSIX_FADV_DONTNEED)
            self._retry_from, self._dropped = self._dropped, upto

    def _read_into(self, target: memoryview) -> int:
        """Read into ``target`` (the window after its valid bytes); 0 at the end of the input."""
        offset = self._pos + self._end - self._start
        try:
            if self.mode is IoMode.BUFFERED:  # from the current position: stdin may be a file
                return os.readv(self._fd, [target])
            return os.preadv(self._fd, [target], offset, self._flags)
        except OSError as exc:
            raise EnvironmentProblem(f"{self.name}: read failed at offset {offset:#x}: "
                                     f"{exc.strerror}") from None

    def _left(self, offset: int) -> int | None:
        """Bytes of the input from ``offset`` on, where its size is known."""
        return None if self.size is None else max(self.size - self._origin - offset, 0)

    def read(self, n: int, field: str) -> memoryview:
        """Exactly ``n`` bytes, or :class:`TruncatedError` naming ``field``."""
        if n < 0 or n > MAX_READ:
            raise self.error(f"refusing to read {n} bytes at once (limit {MAX_READ})", field)
        left = self._left(self._pos)
        if left is not None and n > left:
            # Before the window grows to a declared size the file cannot hold.
            raise self.error(f"input ends after {left} of {n} bytes", field, cls=TruncatedError)
        got = self._fill(n)
        if got < n:
            raise self.error(f"input ends after {got} of {n} bytes", field, cls=TruncatedError)
        view = self._view[self._start:self._start + n]
        self._start += n
        self._pos += n
        return view

    def page_data(self, n: int, field: str) -> memoryview:
        """``n`` bytes of guest pages: :meth:`read`, unless :attr:`skim` is set.

        Skimming (for re-reading a file this process just wrote, whose page bytes it trusts)
        jumps over page data that is not in the window yet and returns zeros in its place, so
        a structural re-read costs the headers, not the pages.  Only a regular file is
        skimmed; past the end of the input the skip is a read, which raises.  A direct read
        must start on a block boundary, so there the jump ends on the last boundary before the
        pages end and the rest is read.
        """
        if not self.skim or self.size is None or self._origin + self._pos + n > self.size:
            return self.read(n, field)
        resume = self._pos + n
        if self.mode is not IoMode.BUFFERED:
            resume -= resume % self._unit
        if resume <= self._pos + self._end - self._start:    # the window holds them already
            return self.read(n, field)
        tail = self._pos + n - resume
        self._pos = resume
        self._start = self._end = 0
        if self.mode is IoMode.BUFFERED:     # reads go on from the file position
            os.lseek(self._fd, self._origin + self._pos, os.SEEK_SET)
        if tail:
            self.read(tail, field)
        if len(self._zeros) < n:
            self._zeros = memoryview(bytes(n))
        return self._zeros[:n]

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
        if n < 0 or n > MAX_READ:
            raise self.error(f"refusing to read {n} bytes at once (limit {MAX_READ})", field,
                             offset)
        left = self._left(offset)
        if left is not None and n > left:
            raise self.error(f"input ends after {left} of {n} bytes", field, offset,
                             cls=TruncatedError)
        data = bytearray(n)
        self.pread_into(offset, memoryview(data), field)
        return bytes(data)

    def pread_into(self, offset: int, target: memoryview, field: str) -> None:
        """Fill ``target`` with the bytes at ``offset`` (regular files and block devices only),
        in this source's I/O mode: direct reads go straight into ``target`` when it is aligned
        whole blocks at an aligned offset, else through an aligned bounce buffer; fadvise reads
        drop what they read from the page cache."""
        if not self.seekable:
            raise UnsupportedError(f"{self.name}: random access needs a regular file")
        n = len(target)
        at = self._origin + offset
        if self.block > 1 and (at % self.block or n % self.block
                               or address_of(target) % self._memory_align):
            lead = at % self.block
            with aligned_buffer(self._round(lead + n)) as bounce:
                view = memoryview(bounce)
                got = self._preadv(view, at - lead) - lead
                if got >= n:
                    target[:] = view[lead:lead + n]
                view.release()
        else:
            got = self._preadv(target, at)
        if got < n:
            raise self.error(f"input ends after {max(got, 0)} of {n} bytes", field, offset,
                             cls=TruncatedError)
        if self.mode is IoMode.FADVISE:
            os.posix_fadvise(self._fd, at, n, os.POSIX_FADV_DONTNEED)

    def _preadv(self, target: memoryview, offset: int) -> int:
        """Read as much of ``target`` as the file has at ``offset``; how much was read."""
        done = 0
        while done < len(target):
            try:
                got = os.preadv(self._fd, [target[done:]], offset + done, self._flags)
            except OSError as exc:
                raise EnvironmentProblem(f"{self.name}: read failed at offset "
                                         f"{offset + done:#x}: {exc.strerror}") from None
            if got == 0 or (self.block > 1 and got % self.block):
                return done + got
            done += got
        return done

    def stat(self) -> os.stat_result:
        """What the input is (an output must not be the same file)."""
        return os.fstat(self._fd)

    def close(self) -> None:
        self._view.release()
        if self.mode is IoMode.FADVISE:
            os.posix_fadvise(self._fd, 0, 0, os.POSIX_FADV_DONTNEED)
        if self._close:
            os.close(self._fd)


@contextlib.contextmanager
def open_source(path: str, mode: IoMode | str = IoMode.AUTO, *,
                window: int = WINDOW) -> Iterator[Source]:
    """Open ``path`` (``-`` for standard input) for reading in the best mode at or after
    ``mode`` that its file system accepts (see :func:`~xcformat.io.modes.settle`)."""
    mode = IoMode(mode)
    if path == "-":
        if mode not in (IoMode.AUTO, IoMode.BUFFERED):
            notice(f"standard input: {mode.value} I/O does not apply; using buffered I/O")
        pipes.widen(sys.stdin.fileno())
        source = Source(sys.stdin.fileno(), "<stdin>", close=False, window=window)
    else:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise EnvironmentProblem(f"{path}: cannot open: {exc.strerror}") from None
        try:
            plan = settle(fd, path, mode, write=False)
        except BaseException:
            os.close(fd)
            raise
        source = Source(fd, path, plan=plan, window=window)
    try:
        yield source
    finally:
        source.close()
