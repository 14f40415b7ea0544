"""Page-aligned buffers for direct I/O.

``mmap.mmap(-1, n)`` is aligned but MAP_SHARED: shared anonymous memory is shmem and counts as
``Cached:`` in /proc/meminfo, so the I/O buffers would look like page cache.  These are private.
"""

from __future__ import annotations

import mmap

from . import native


def aligned_buffer(size: int) -> mmap.mmap:
    """``size`` bytes (rounded up to whole pages) of private, page-aligned, zeroed memory."""
    size = max(-(-size // mmap.PAGESIZE) * mmap.PAGESIZE, mmap.PAGESIZE)
    return mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)


def address_of(view: memoryview) -> int:
    """The memory address of ``view``'s first byte (direct I/O needs it aligned)."""
    return int(native.ffi.cast("uintptr_t", native.ffi.from_buffer(view)))
