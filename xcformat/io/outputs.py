"""What an output path names, and so how it may be written.

A regular file (or a name not yet taken) is written atomically beside itself and renamed into
place (:func:`~.sink.open_sink`).  A FIFO, a character device or a block device cannot be
replaced without breaking the machine (a ``/dev/null`` that becomes a regular file), so it is
written in place: FIFOs and character devices in order as a stream, block devices from offset 0,
with direct I/O where the device's sector size allows.  A directory, a socket, a terminal, a
block device that is mounted or held by another program, and the very file being read are
refused.  Symbolic links are followed: the file or device they name is the output.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass

from ..errors import EnvironmentProblem


@dataclass(frozen=True)
class Output:
    """An output path, classified."""

    path: str            #: the name given
    target: str          #: where the bytes go: ``path`` with symbolic links followed
    existing: os.stat_result | None  #: what stands at ``target`` now (None: nothing)

    @property
    def in_place(self) -> bool:
        """A FIFO or a device: written where it stands, never replaced."""
        return self.existing is not None and not stat.S_ISREG(self.existing.st_mode)

    @property
    def block_device(self) -> bool:
        return self.existing is not None and stat.S_ISBLK(self.existing.st_mode)


def same_file(a: os.stat_result, b: os.stat_result) -> bool:
    """Whether two stats are one file: one inode, or two nodes of one block device."""
    if (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino):
        return True
    return stat.S_ISBLK(a.st_mode) and stat.S_ISBLK(b.st_mode) and a.st_rdev == b.st_rdev


def refuse_input(name: str, out: os.stat_result, reading: os.stat_result | None) -> None:
    """Refuse an output that is the input (by inode, however it was named)."""
    if reading is not None and same_file(out, reading):
        raise EnvironmentProblem(f"{name}: this is the input itself (the same file, by device "
                                 f"and inode): refusing to write over the image being read")


def input_stat(path: str) -> os.stat_result | None:
    """The ``stat`` of an input path (``-``: standard input), or None if it cannot be had."""
    try:
        return os.fstat(0) if path == "-" else os.stat(path)
    except OSError:
        return None


def classify(path: str, reading: os.stat_result | None = None) -> Output:
    """``path`` as an :class:`Output`; refuses what cannot or must not be written."""
    target = os.path.realpath(path) if os.path.islink(path) else path
    try:
        existing = os.stat(target)
    except FileNotFoundError:
        return Output(path, target, None)
    except OSError as exc:
        raise EnvironmentProblem(f"{path}: cannot write output: {exc.strerror}") from None
    refuse_input(path, existing, reading)
    mode = existing.st_mode
    if stat.S_ISDIR(mode):
        raise EnvironmentProblem(f"{path}: is a directory; name a file to write")
    if stat.S_ISSOCK(mode):
        raise EnvironmentProblem(f"{path}: is a socket; xcformat send/receive move images "
                                 f"over the network")
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)
            or stat.S_ISBLK(mode)):
        raise EnvironmentProblem(f"{path}: not a file, FIFO or device; cannot write to it")
    return Output(path, target, existing)


def open_in_place(output: Output) -> int:
    """Open a FIFO or device output for writing where it stands (no creation, no truncation).

    A FIFO waits here for its reader, as a shell redirection does.  A block device is opened
    exclusively (``O_EXCL``): Linux refuses that with EBUSY while the device is mounted or held
    by another program, and writing under a file system would corrupt it.
    """
    block = output.block_device
    # A block device is opened read-write: the bytes around an unaligned end are read back so
    # that only the image's own bytes change.
    flags = (os.O_RDWR | os.O_EXCL if block else os.O_WRONLY) | os.O_CLOEXEC
    try:
        fd = os.open(output.target, flags)
    except OSError as exc:
        if block and exc.errno == errno.EBUSY:
            raise EnvironmentProblem(f"{output.path}: block device in use (mounted, or held "
                                     f"by another program): refusing to write over it") from None
        raise EnvironmentProblem(f"{output.path}: cannot open for writing: {exc.strerror}") \
            from None
    if os.isatty(fd):
        os.close(fd)
        raise EnvironmentProblem(f"{output.path}: is a terminal: refusing to write an image "
                                 f"to it")
    return fd


def keep_owner_and_mode(fd: int, replaced: os.stat_result) -> None:
    """Give the new file ``fd`` the owner, group and permissions of the file it replaces.

    The owner first: chown clears the set-id bits that chmod then restores.  An unprivileged
    user cannot give a file away; it then keeps its creator and loses set-id bits, as ``cp``
    does.
    """
    mode = stat.S_IMODE(replaced.st_mode)
    try:
        os.fchown(fd, replaced.st_uid, replaced.st_gid)
    except PermissionError:
        mode &= ~(stat.S_ISUID | stat.S_ISGID)
    os.fchmod(fd, mode)
