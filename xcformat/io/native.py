"""The few Linux calls Python's ``os`` module lacks, through cffi in ABI mode (no compiler).

``statx`` (Python 3.11 has no ``os.statx``), ``sync_file_range``, ``mincore`` and ``prctl``,
declared in :mod:`.libc_declarations` and parsed when the package is built.  cffi releases the
GIL around each call.  Constants are the kernel's uapi values.
"""

from __future__ import annotations

try:
    from ._libc import ffi
except ModuleNotFoundError as missing:
    if missing.name != f"{__package__}._libc":
        raise                           # cffi's backend itself (the CLI reports it)
    raise ImportError(f"{missing.name} is made when the package is built: reinstall xcformat "
                      "(pip install -e . in a checkout)") from None

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
