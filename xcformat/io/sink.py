"""Writing an image so that nothing incomplete ever stands at the output path.

On a regular file, :meth:`Sink.write` gathers bytes into page-aligned chunks that a background
thread writes (:mod:`.writebehind`) while the caller keeps reading; with direct I/O each chunk is a
whole number of blocks, the last one padded and the file truncated back to its true size.  A
write that is already whole aligned blocks at an aligned offset from aligned memory goes straight
to the file, no copy.  Streams (pipes, sockets) are written through at once, in order.

:func:`open_sink` writes into an anonymous ``O_TMPFILE`` (or a hidden temporary file) beside the
output, fsyncs it and only then gives it the output's name, so a failed or killed conversion
leaves nothing at OUT.  FIFOs and devices are written in place instead (:mod:`.outputs`); on a
block device a direct-I/O tail is padded with the device's own bytes, so only the image's bytes
change.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import mmap
import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, BinaryIO

from ..errors import EnvironmentProblem
from . import native, pipes
from .buffers import address_of, aligned_buffer, discard
from .modes import IoMode, Plan, settle
from .notices import notice
from .outputs import classify, keep_owner_and_mode, open_in_place, refuse_input
from .writebehind import Job, ReadAhead, WriteBehind

if TYPE_CHECKING:
    from .source import Source

#: Bytes gathered before a chunk goes to the writer thread, and how many chunks may be in flight.
CHUNK = 8 << 20
DEPTH = 3

#: Chunks a stream's :meth:`Sink.write_from` reads ahead of the one it writes.
READ_AHEAD = 2
#: Fills a memoryview with the bytes at a file offset (of a file other than the sink's).
ReadAt = Callable[[int, memoryview], None]


def _pwrite_all(fd: int, view: memoryview, offset: int, flags: int = 0) -> None:
    while view:
        try:
            done = os.pwritev(fd, [view], offset, flags)
        except OSError as exc:
            # Where it failed, for the message (the chunk began earlier).
            exc.offset = offset  # type: ignore[attr-defined]
            raise
        view, offset = view[done:], offset + done


class _FadviseWrite:
    """Buffered writes with write-behind: writeback of each chunk starts at once; the chunk
    written ``lag`` chunks earlier is waited for and dropped from the page cache (and advised
    once more a chunk later, for pages that sat in another CPU's LRU batch the first time)."""

    def __init__(self, fd: int, lag: int = 2):
        self._fd = fd
        self._lag = lag
        self._started: list[tuple[int, int]] = []
        self._dropped: tuple[int, int] | None = None

    def __call__(self, view: memoryview, offset: int) -> None:
        _pwrite_all(self._fd, view, offset)
        if native.libc.sync_file_range(self._fd, offset, len(view),
                                       native.SYNC_FILE_RANGE_WRITE) != 0:
            raise native.errno_error("sync_file_range")
        self._started.append((offset, len(view)))
        if len(self._started) > self._lag:
            start, length = self._started.pop(0)
            wait = (native.SYNC_FILE_RANGE_WAIT_BEFORE | native.SYNC_FILE_RANGE_WRITE
                    | native.SYNC_FILE_RANGE_WAIT_AFTER)
            if native.libc.sync_file_range(self._fd, start, length, wait) != 0:
                raise native.errno_error("sync_file_range")
            for range_ in filter(None, (self._dropped, (start, length))):
                os.posix_fadvise(self._fd, *range_, os.POSIX_FADV_DONTNEED)
            self._dropped = (start, length)


def _chunk_writer(fd: int, mode: IoMode) -> Callable[[memoryview, int], None]:
    if mode is IoMode.FADVISE:
        return _FadviseWrite(fd)
    flags = native.RWF_DONTCACHE if mode is IoMode.UNCACHED else 0
    return lambda view, offset: _pwrite_all(fd, view, offset, flags)


class Sink:
    """An output image, written front to back.  ``offset`` counts the bytes accepted.

    ``plan`` (from :func:`~xcformat.io.modes.settle`) says how; without one, ``mode`` is taken as
    is.  A sink on a regular file must end with :meth:`flush` and :meth:`close`
    (:func:`open_sink` does both).  ``reread`` is the input the image is converted from, where
    bytes it holds may be read again (a :class:`~.spool.Spool` keeps them by offset there).
    """

    def __init__(self, fd: int, name: str, *, mode: IoMode = IoMode.BUFFERED,
                 plan: Plan | None = None, stream: bool | None = None, chunk: int = CHUNK,
                 depth: int = DEPTH, reread: Source | None = None):
        self.name = name
        self.reread = reread
        self._fd = fd
        plan = plan or Plan.assumed(mode)
        self.mode = plan.mode
        #: Direct-I/O block: writes of whole blocks at multiples of it skip the copy (1: any).
        self.block = plan.block
        self._memory_align = plan.alignment.memory if plan.alignment else 1
        self.offset = 0
        kind = os.fstat(fd).st_mode if stream is None else stat.S_IFREG
        # A stream is written in order at its current position (pipes, sockets, stdout,
        # character devices); files and block devices by offset.
        self._stream = not (stat.S_ISREG(kind) or stat.S_ISBLK(kind)) if stream is None \
            else stream
        #: A block device: it cannot be truncated, and its bytes past the image are not ours.
        self._device = stat.S_ISBLK(kind)
        unit = max(self.block, mmap.PAGESIZE)
        self._chunk = -(-max(chunk, unit) // unit) * unit
        self._depth = depth
        self._behind: WriteBehind | None = None
        self._buf: mmap.mmap | None = None
        self._view: memoryview | None = None
        self._base = 0       # file offset of the current chunk's first byte
        self._fill = 0       # bytes gathered in the current chunk

    # -- writing ------------------------------------------------------------------------
    def write(self, data: bytes | bytearray | memoryview | mmap.mmap, *,
              gather: bool = False) -> None:
        """Append ``data``.  ``gather`` keeps it off the no-copy path: for small structures, whose
        memory may be aligned by chance, a straight write would be a synchronous device round
        trip in the caller's thread and would cut the chunk being gathered short."""
        view = memoryview(data).cast("B")
        if self._stream:
            self._write_through(view)
            return
        if not gather and self._goes_straight(view):
            self._submit()
            self._guard(lambda: _pwrite_all(self._fd, view, self.offset), self.offset)
            self.offset += len(view)
            self._base = self.offset
            return
        while view:
            if self._view is None:
                self._take()
            take = min(self._chunk - self._fill, len(view))
            self._view[self._fill:self._fill + take] = view[:take]
            self._fill += take
            self.offset += take
            view = view[take:]
            if self._fill == self._chunk:
                self._submit()

    def write_from(self, runs: Iterable[tuple[ReadAt, int, int]]) -> None:
        """Append, run after run, the ``n`` bytes that ``read`` finds at ``offset`` for each
        ``(read, offset, n)``.  On a file they are read straight into the chunks the writer
        thread writes, so reading overlaps writing and no byte is copied in memory (with direct
        I/O, runs of whole blocks from an aligned offset keep every read and write aligned); on
        a stream a thread reads the next chunks (:class:`~.writebehind.ReadAhead`) while this
        thread writes, where SIGINT interrupts a write blocked on a pipe."""
        if self._stream:
            self._write_through_from(runs)
            return
        for read, offset, n in runs:
            while n:
                if self._view is None:
                    self._take()
                take = min(self._chunk - self._fill, n)
                read(offset, self._view[self._fill:self._fill + take])
                self._fill += take
                self.offset += take
                offset += take
                n -= take
                if self._fill == self._chunk:
                    self._submit()

    def _write_through_from(self, runs: Iterable[tuple[ReadAt, int, int]]) -> None:
        """A stream: the next chunks are read in a thread while this one writes the last."""
        ahead = ReadAhead(size=self._chunk, depth=READ_AHEAD)
        lengths: collections.deque[int] = collections.deque()
        try:
            for job, length in self._chunk_jobs(runs):
                if len(lengths) == READ_AHEAD:
                    self._write_filled(ahead, lengths.popleft())
                ahead.fill(job)
                lengths.append(length)
            while lengths:
                self._write_filled(ahead, lengths.popleft())
        finally:
            ahead.close()

    def _write_filled(self, ahead: ReadAhead, length: int) -> None:
        buf = ahead.filled()
        with memoryview(buf) as view:
            self._write_through(view[:length])
        ahead.recycle(buf)

    def _chunk_jobs(self, runs: Iterable[tuple[ReadAt, int, int]]
                    ) -> Iterator[tuple[Job, int]]:
        """``runs`` cut into jobs that each fill one chunk, and how much of it they fill."""
        pieces: list[tuple[ReadAt, int, int, int]] = []   # read, offset, at, n
        filled = 0
        for read, offset, n in runs:
            while n:
                take = min(self._chunk - filled, n)
                pieces.append((read, offset, filled, take))
                filled += take
                offset += take
                n -= take
                if filled == self._chunk:
                    yield _filling(pieces), filled
                    pieces, filled = [], 0
        if filled:
            yield _filling(pieces), filled

    def _goes_straight(self, view: memoryview) -> bool:
        """Direct I/O, whole blocks, an aligned offset and aligned memory: no bounce needed."""
        block = self.block
        return (self.mode is IoMode.DIRECT and len(view) >= block and not len(view) % block
                and not self.offset % block and not address_of(view) % self._memory_align)

    def _write_through(self, view: memoryview) -> None:
        while view:
            done = self._guard(lambda: os.write(self._fd, view), self.offset)
            view = view[done:]
            self.offset += done

    def _take(self) -> None:
        if self._behind is None:
            self._behind = WriteBehind(_chunk_writer(self._fd, self.mode), size=self._chunk,
                                       depth=self._depth)
        self._buf = self._guard(self._behind.take, self._base)
        self._view = memoryview(self._buf)

    def _submit(self, *, pad: bool = False) -> None:
        """Hand the gathered chunk to the writer thread (with ``pad``, zero-filled to a whole
        block, for a direct-I/O tail)."""
        if not self._fill:
            return
        length = self._fill
        if pad and length % self.block:
            length += self.block - length % self.block
            self._view[self._fill:length] = self._beyond(self._base + self._fill,
                                                         length - self._fill)
        self._view.release()
        self._view = None
        buf, self._buf = self._buf, None
        self._guard(lambda: self._behind.submit(buf, length, self._base), self._base)
        self._base += self._fill
        self._fill = 0

    def _beyond(self, offset: int, n: int) -> bytes:
        """What pads a direct-I/O tail to its block's end at ``offset``: zeros on a file (it is
        truncated back), the bytes already there on a device (which keeps them)."""
        if not self._device:
            return bytes(n)
        start = offset + n - self.block
        buf = aligned_buffer(self.block)
        try:
            with memoryview(buf)[:self.block] as block:
                got = self._guard(lambda: os.preadv(self._fd, [block], start), start)
                return bytes(block[self.block - n:]) if got == self.block else bytes(n)
        finally:
            discard(buf)

    def _guard(self, call, offset: int):
        try:
            return call()
        except OSError as exc:
            offset = getattr(exc, "offset", offset)
            if exc.errno == errno.EPIPE:
                raise EnvironmentProblem(f"{self.name}: the reader closed the pipe after "
                                         f"{offset} bytes; the image is incomplete") from None
            raise EnvironmentProblem(f"{self.name}: write failed near offset {offset:#x}: "
                                     f"{exc.strerror or exc}") from None

    def flush(self) -> None:
        """Push everything written so far to the file (before fsync or handing off the fd).

        With direct I/O an unaligned end is written as a padded block and the file truncated
        back; the block's bytes stay gathered, so writing on rewrites it whole.
        """
        if self._stream or (not self._fill and self._behind is None):
            return
        tail_start = self.offset - self.offset % self.block
        tail = bytes(self._view[tail_start - self._base:self._fill]) if self._fill else b""
        self._submit(pad=True)
        self._guard(self._behind.drain, self._base)
        if self.mode is IoMode.DIRECT and tail:
            if not self._device:
                self._guard(lambda: os.ftruncate(self._fd, self.offset), self.offset)
            self._base = tail_start
            self._take()
            self._view[:len(tail)] = tail
            self._fill = len(tail)

    def close(self) -> None:
        """Stop the writer thread (after :meth:`flush`; unflushed bytes are dropped)."""
        if self._view is not None:
            self._view.release()
            self._view = None
        if self._behind is not None:
            if self._buf is not None:
                self._behind.give_back(self._buf)
                self._buf = None
            self._behind.close()
            self._behind = None


def _filling(pieces: list[tuple[ReadAt, int, int, int]]) -> Job:
    """A job that reads each piece into its place (``at``) in the buffer."""
    def fill(view: memoryview) -> None:
        for read, offset, at, n in pieces:
            read(offset, view[at:at + n])
    return fill


class FileObjectSink(Sink):
    """A sink that hands its bytes, in order, to a binary file object's ``write`` (a
    :class:`io.BytesIO`, a socket's file, an open file).  Nothing is atomic here: what was
    written before a failure stays written."""

    def __init__(self, file: BinaryIO, name: str, reread: Source | None = None):
        super().__init__(-1, name, stream=True, reread=reread)
        self._file = file

    def _write_through(self, view: memoryview) -> None:
        while view:
            done = self._guard(lambda: self._file.write(view), self.offset)
            done = len(view) if done is None else done  # buffered writers take it all
            view = view[done:]
            self.offset += done


def _output_file(path: str, directory: str, mode: int) -> tuple[int, str | None]:
    """An unnamed file in ``directory`` (O_TMPFILE), or a hidden named one where the file
    system has no O_TMPFILE, with permissions ``mode`` (less the umask); returns the fd and the
    temporary name (None if unnamed)."""
    try:
        return os.open(directory, os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, mode), None
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT):
            raise
    tmp = _hidden_name(path)
    return os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_RDWR | os.O_CLOEXEC, mode), tmp


def _hidden_name(path: str) -> str:
    return os.path.join(os.path.dirname(os.path.abspath(path)),
                        f".{os.path.basename(path)}.{os.urandom(4).hex()}.partial")


def _publish(fd: int, tmp: str | None, path: str, directory: str) -> None:
    """Give the finished file the name ``path`` (replacing what was there) and make it stick."""
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if tmp is None:
            tmp = _hidden_name(path)
            # linkat(AT_SYMLINK_FOLLOW) of the magic link names the O_TMPFILE; passing dir fds
            # makes os.link call linkat (with neither it calls link(), which does not follow).
            os.link(f"/proc/self/fd/{fd}", os.path.basename(tmp), src_dir_fd=dir_fd,
                    dst_dir_fd=dir_fd, follow_symlinks=True)
        try:
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@contextlib.contextmanager
def open_sink(path: str, mode: IoMode | str = IoMode.AUTO, *, chunk: int = CHUNK,
              depth: int = DEPTH, reading: os.stat_result | None = None,
              check: Callable[[str], None] | None = None,
              reread: Source | None = None, new_file_mode: int = 0o666) -> Iterator[Sink]:
    """Open ``path`` (``-`` for standard output) for writing.  A regular file appears only on
    success, with the owner and permissions of the file it replaces; a FIFO or a device is
    written in place (:mod:`.outputs`).  ``reading`` is the input's ``stat``: an output that is
    the same file is refused.  ``check``, given a path that reads the finished but unpublished
    file, may raise to keep it from appearing (what is written in place, or to standard
    output, cannot be taken back, so it is not checked).  ``reread`` is the input converted
    from, where kept bytes may be read again (see :class:`Sink`).  A new file gets the
    permissions ``new_file_mode``, less the umask."""
    mode = IoMode(mode)
    if path == "-":
        fd = sys.stdout.fileno()
        refuse_input("standard output", os.fstat(fd), reading)
        pipes.widen(fd)
        if mode not in (IoMode.AUTO, IoMode.BUFFERED):
            notice(f"standard output: {mode.value} I/O does not apply; using buffered I/O")
        with _writing(Sink(fd, "<stdout>", stream=True, reread=reread)) as sink:
            yield sink
        return
    output = classify(path, reading)
    if output.in_place:
        fd = open_in_place(output)
        try:
            with _writing(Sink(fd, path, plan=settle(fd, path, mode, write=True), chunk=chunk,
                               depth=depth, reread=reread)) as sink:
                yield sink
            if output.block_device:
                os.fsync(fd)
        except OSError as exc:
            raise EnvironmentProblem(f"{path}: cannot write output: {exc.strerror or exc}") \
                from None
        finally:
            os.close(fd)
        return
    target = output.target
    directory = os.path.dirname(os.path.abspath(target))
    try:
        fd, tmp = _output_file(target, directory, new_file_mode)
    except OSError as exc:
        raise EnvironmentProblem(f"{path}: cannot create output: {exc.strerror}") from None
    sink = None
    try:
        if output.existing is not None:
            keep_owner_and_mode(fd, output.existing)
        sink = Sink(fd, path, plan=settle(fd, directory, mode, write=True), chunk=chunk,
                    depth=depth, reread=reread)
        yield sink
        sink.flush()
        sink.close()
        if check is not None:
            check(f"/proc/self/fd/{fd}")
        os.fsync(fd)
        if sink.mode is not IoMode.BUFFERED:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        _publish(fd, tmp, target, directory)
    except OSError as exc:
        raise EnvironmentProblem(f"{path}: cannot write output: {exc.strerror or exc}") from None
    finally:
        if sink is not None:
            sink.close()
        os.close(fd)
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


@contextlib.contextmanager
def _writing(sink: Sink) -> Iterator[Sink]:
    """``sink`` flushed at the end of the block, and closed in any case."""
    try:
        yield sink
        sink.flush()
    finally:
        sink.close()
