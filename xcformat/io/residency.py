"""How much of a file sits in the page cache (``mincore`` on a read-only mapping of it).

Mapping a file does not fault its pages in, so asking changes nothing; used by tests and by
tools/bench to show that direct, uncached and fadvise I/O leave (almost) nothing cached.
"""

from __future__ import annotations

import mmap
import os

from . import native

_LOW_BIT = bytes(b & 1 for b in range(256))


def cached_bytes(path: str) -> int:
    """Bytes of ``path`` resident in the page cache now (whole pages)."""
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size == 0:
            return 0
        with mmap.mmap(file.fileno(), size, prot=mmap.PROT_READ) as mapping:
            pages = -(-size // mmap.PAGESIZE)
            vec = native.ffi.new("unsigned char[]", pages)
            address = native.ffi.from_buffer(mapping)
            if native.libc.mincore(address, size, vec) != 0:
                raise native.errno_error(f"mincore {path}")
            del address  # the mapping cannot close while cffi still exports it
            # Only the lowest bit of each byte means "resident"; the others are reserved.
            return native.ffi.buffer(vec)[:].translate(_LOW_BIT).count(1) * mmap.PAGESIZE


def evict(path: str) -> None:
    """Write ``path``'s dirty pages back and drop all of it from the page cache (a cold start)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
