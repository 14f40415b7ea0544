"""The C declarations of the Linux calls in :mod:`xcformat.io.native`, and the module cffi
makes of them.

cffi's out-of-line ABI mode parses these declarations once, when the package is built
(tools/build_backend.py writes :data:`GENERATED`), instead of on every start: parsing them with
pycparser was the largest single piece of the command's start-up.  This file imports only cffi,
so that the build can load it without the package.
"""

from __future__ import annotations

from pathlib import Path

#: Where the build puts the generated module (not in version control).
GENERATED = Path(__file__).with_name("_libc.py")

# struct statx as in include/uapi/linux/stat.h (256 bytes); the fields after the direct-I/O
# alignment (Linux 6.1) are folded into the spare tail since nothing here reads them.
DECLARATIONS = """
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
"""


def emit(path: Path = GENERATED) -> None:
    """Write the module cffi generates from :data:`DECLARATIONS` to ``path``."""
    import cffi

    builder = cffi.FFI()
    builder.cdef(DECLARATIONS)
    builder.set_source("xcformat.io._libc", None)    # None: ABI mode, no C compiler
    builder.emit_python_code(str(path))
