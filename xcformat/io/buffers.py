"""Page-aligned buffers for direct I/O.

``mmap.mmap(-1, n)`` is aligned but MAP_SHARED: shared anonymous memory is shmem and counts as
``Cached:`` in /proc/meminfo, so the I/O buffers would look like page cache.  These are private.

Buffers of 2 MiB or more ask for transparent huge pages (a hint; kernels without THP ignore or
refuse it): pinning their pages for each O_DIRECT transfer and copying through them then walk
512 times fewer page-table entries, which halves a direct conversion's system time.
"""

from __future__ import annotations

import contextlib
import mmap

from . import native

HUGE_PAGE = 2 << 20


def aligned_buffer(size: int) -> mmap.mmap:
    """``size`` bytes (rounded up to whole pages) of private, page-aligned, zeroed memory."""
    size = max(-(-size // mmap.PAGESIZE) * mmap.PAGESIZE, mmap.PAGESIZE)
    buf = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    if size >= HUGE_PAGE and hasattr(mmap, "MADV_HUGEPAGE"):
        with contextlib.suppress(OSError):
            buf.madvise(mmap.MADV_HUGEPAGE)
    return buf


def discard(buf: mmap.mmap) -> None:
    """Unmap ``buf`` now or, while a view of it is still alive, when the last view goes.

    Views outlive a failed write in the frames of the exception on its way up (ENOSPC, EPIPE,
    SIGINT): ``mmap.close`` would then raise ``BufferError`` over that exception.
    """
    with contextlib.suppress(BufferError):
        buf.close()


def address_of(view: memoryview) -> int:
    """The memory address of ``view``'s first byte (direct I/O needs it aligned)."""
    return int(native.ffi.cast("uintptr_t", native.ffi.from_buffer(view)))
