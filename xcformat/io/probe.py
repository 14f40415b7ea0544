"""What the kernel and file system under a file accept: direct-I/O alignment, uncached I/O.

Alignment comes from, in this order: ``statx(STATX_DIOALIGN)`` (Linux 6.1), the ``BLKSSZGET``
ioctl of a block device, the page size.  A file system that answers ``statx`` without
``STATX_DIOALIGN`` (tmpfs, FUSE, NFS) or with a zero alignment does not advertise direct I/O.
"""

from __future__ import annotations

import array
import errno
import fcntl
import mmap
import os
import stat
from dataclasses import dataclass

from . import native


@dataclass(frozen=True)
class Alignment:
    """Direct-I/O alignment: buffer addresses and file offsets/lengths must be multiples."""

    memory: int
    offset: int
    source: str  #: "statx", "BLKSSZGET" or "page size"

    @property
    def block(self) -> int:
        """One size that satisfies both (and is never below the page size for buffers)."""
        return max(self.memory, self.offset)


def statx_dio(fd: int) -> tuple[int, int] | None:
    """``(memory, offset)`` alignment the file system reports, (0, 0) if it says "no direct
    I/O", None if it does not answer the question."""
    buf = native.ffi.new("struct statx *")
    if native.libc.statx(fd, b"", native.AT_EMPTY_PATH, native.STATX_DIOALIGN, buf) != 0:
        return None
    if not buf.stx_mask & native.STATX_DIOALIGN:
        return None
    return buf.stx_dio_mem_align, buf.stx_dio_offset_align


def block_device_sector(fd: int) -> int | None:
    if not stat.S_ISBLK(os.fstat(fd).st_mode):
        return None
    out = array.array("i", [0])
    try:
        fcntl.ioctl(fd, native.BLKSSZGET, out, True)
    except OSError:
        return None
    return out[0] or None


def dio_alignment(fd: int) -> Alignment | None:
    """The direct-I/O alignment of ``fd``'s file, or None where direct I/O is not advertised."""
    reported = statx_dio(fd)
    if reported is not None:
        memory, offset = reported
        if not memory or not offset:
            return None
        return Alignment(memory, offset, "statx")
    sector = block_device_sector(fd)
    if sector:
        return Alignment(sector, sector, "BLKSSZGET")
    return None


def fallback_alignment() -> Alignment:
    """For a file system that takes O_DIRECT without saying how: the page size is always safe."""
    return Alignment(mmap.PAGESIZE, mmap.PAGESIZE, "page size")


def dontcache_works(fd: int, *, write: bool) -> bool:
    """Whether ``RWF_DONTCACHE`` is accepted on ``fd`` (a 1-byte probe at offset 0).

    The write probe writes one byte, then truncates the file to nothing: fresh outputs only.
    """
    try:
        if write:
            os.pwritev(fd, [b"\0"], 0, native.RWF_DONTCACHE)
            os.ftruncate(fd, 0)
        else:
            os.preadv(fd, [bytearray(1)], 0, native.RWF_DONTCACHE)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EINVAL):
            return False
        raise
    return True


@dataclass(frozen=True)
class Mount:
    point: str
    fstype: str


def mount_of(path: str) -> Mount:
    """The mount holding ``path`` (longest matching mount point in /proc/self/mountinfo)."""
    target = os.path.realpath(path)
    best = Mount("/", "unknown")
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                fields = line.split()
                # mountinfo: ... mount-point(5th) ... " - " fstype source options
                point = fields[4].replace("\\040", " ")
                fstype = fields[fields.index("-") + 1]
                inside = target == point or target.startswith(point.rstrip("/") + "/")
                if inside and len(point) >= len(best.point):
                    best = Mount(point, fstype)
    except OSError:
        pass
    return best
