"""Wider pipes between xcformat and the program at the other end (``xl save /dev/stdout |
xcformat convert -``, ``xcformat convert IMAGE - | xl restore /dev/stdin``).

A Linux pipe holds 64 KiB by default, so a save stream of pages crosses it in 64 KiB turns, each
a wake-up of the reader and of the writer.  ``xl`` writes each batch of up to 1024 pages with one
``writev`` (tools/libs/guest/xg_sr_save.c) and reads page data with one read per record
(xg_sr_restore.c); a pipe that holds a whole batch lets both sides move it in one turn.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat

#: Enough for one batch of 1024 pages and its record header.
WANTED = 8 << 20
_MAX_SIZE = "/proc/sys/fs/pipe-max-size"
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


def _allowed() -> int:
    with contextlib.suppress(OSError, ValueError):
        with open(_MAX_SIZE, encoding="ascii") as limit:
            return int(limit.read())
    return 1 << 20


def widen(fd: int) -> int:
    """Make the pipe at ``fd`` hold :data:`WANTED` bytes, or as much as this process may
    (the system's ``pipe-max-size`` without privilege); the size it has, 0 if ``fd`` is no pipe.
    A pipe that cannot grow works as it is."""
    if not stat.S_ISFIFO(os.fstat(fd).st_mode):
        return 0
    for size in (WANTED, min(WANTED, _allowed())):
        with contextlib.suppress(OSError):
            return fcntl.fcntl(fd, F_SETPIPE_SZ, size)
    return fcntl.fcntl(fd, getattr(fcntl, "F_GETPIPE_SZ", 1032))
