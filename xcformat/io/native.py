"""The few Linux calls Python's ``os`` module lacks, through cffi in ABI mode (no compiler).

``statx`` (Python 3.11 has no ``os.statx``), ``sync_file_range``, ``mincore`` and ``prctl``.  cffi releases
the GIL around each call.  Constants are the kernel's uapi values.
"""

from __future__ import annotations

import cffi

ffi = cffi.FFI()
# struct statx as in include/uapi/linux/stat.h (256 bytes); the fields after the direct-I/O
# alignment (Linux 6.1) are folded into the spare tail since nothing here reads them.
ffi.cdef("""
struct statx_timestamp { int64_t tv_sec; uint32_t tv_nsec; int32_t reserved; };
struct statx {
    uint32_t stx_mask; uint32_t stx_blksize; uint64_t stx_attributes;
    uint32_t stx_nlink; uint32_t stx_uid; uint32_t stx_gid;
    uint16_t stx_mode; uint16_t spare0;
    uint64_t stx_ino; uint64_t stx_size; uint64_t stx_blocks; uint64_t stx_attributes_mask;
    struct statx_timestamp stx_atime, stx_btime, stx_ctime, stx_mtime;
    uint32_t stx_rdev_major, stx_rdev_minor, stx_dev_major, stx_dev_minor;
    uint64_t stx_mnt_id;
    uint32_t stx_dio_mem_align; uint32_t stx_dio_offset_align;
    uint64_t spare[12];
};
int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *buf);
int sync_file_range(int fd, int64_t offset, int64_t nbytes, unsigned int flags);
int mincore(void *addr, size_t length, unsigned char *vec);
int prctl(int option, ...);
""")
libc = ffi.dlopen(None)
assert ffi.sizeof("struct statx") == 256

STATX_DIOALIGN = 0x2000
AT_EMPTY_PATH = 0x1000
SYNC_FILE_RANGE_WAIT_BEFORE = 1
SYNC_FILE_RANGE_WRITE = 2
SYNC_FILE_RANGE_WAIT_AFTER = 4
#: preadv2/pwritev2 flag: buffered I/O whose pages leave the cache once done (Linux 6.14).
RWF_DONTCACHE = 0x80
#: prctl: the signal a process gets when the thread that started it ends (linux/prctl.h).
PR_SET_PDEATHSIG = 1
#: ioctl: logical sector size of a block device (include/uapi/linux/fs.h, _IO(0x12, 104)).
BLKSSZGET = 0x1268


def die_with_parent(signal: int) -> None:
    """Ask for ``signal`` when the parent goes (a ``preexec_fn``: run in the child)."""
    libc.prctl(ffi.cast("int", PR_SET_PDEATHSIG), ffi.cast("unsigned long", signal))


def errno_error(what: str) -> OSError:
    """The OSError for the errno the last libc call left."""
    import os

    code = ffi.errno
    return OSError(code, f"{what}: {os.strerror(code)}")
