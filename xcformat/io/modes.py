"""The I/O modes a user can choose with ``--io``, and how a request settles on one.

A request is a preference, not an order: each mode falls back to the next one in its chain when
the file system refuses it, with one notice saying so (never an EINVAL shown to the user).
``auto`` takes direct I/O only where the file system advertises it (``statx`` DIOALIGN);
an explicit ``direct`` also tries file systems that take O_DIRECT without saying so (tmpfs
since Linux 6.6 accepts it and still caches everything; ramfs refuses it).
"""

from __future__ import annotations

import enum
import errno
import fcntl
import os
import stat
from dataclasses import dataclass

from . import probe
from .notices import notice


class IoMode(str, enum.Enum):
    AUTO = "auto"
    DIRECT = "direct"
    UNCACHED = "uncached"
    FADVISE = "fadvise"
    BUFFERED = "buffered"


_CHAIN = (IoMode.DIRECT, IoMode.UNCACHED, IoMode.FADVISE, IoMode.BUFFERED)


@dataclass(frozen=True)
class Plan:
    """The mode an open file settled on; ``alignment`` is set for direct I/O."""

    mode: IoMode
    alignment: probe.Alignment | None = None

    @property
    def block(self) -> int:
        return self.alignment.block if self.alignment else 1

    @classmethod
    def assumed(cls, mode: IoMode | str) -> Plan:
        """For an fd already set up by the caller: ``mode`` as is (auto means buffered), direct
        I/O with the always-safe page alignment."""
        mode = IoMode(mode)
        if mode is IoMode.DIRECT:
            return cls(mode, probe.fallback_alignment())
        return cls(IoMode.BUFFERED if mode is IoMode.AUTO else mode)


def _try_direct(fd: int, auto: bool, write: bool) -> Plan | str:
    alignment = probe.dio_alignment(fd)
    if alignment is None and auto:
        return "no direct I/O advertised"
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_DIRECT)
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise
        return "O_DIRECT refused"
    return Plan(IoMode.DIRECT, alignment or probe.fallback_alignment())


def _try_uncached(fd: int, auto: bool, write: bool) -> Plan | str:
    if probe.dontcache_works(fd, write=write):
        return Plan(IoMode.UNCACHED)
    return "no uncached (RWF_DONTCACHE) I/O"


def _try_fadvise(fd: int, auto: bool, write: bool) -> Plan | str:
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
    except OSError as exc:
        return f"posix_fadvise refused ({exc.strerror})"
    return Plan(IoMode.FADVISE)


_TRY = {IoMode.DIRECT: _try_direct, IoMode.UNCACHED: _try_uncached,
        IoMode.FADVISE: _try_fadvise,
        IoMode.BUFFERED: lambda fd, auto, write: Plan(IoMode.BUFFERED)}


def settle(fd: int, path: str, requested: IoMode | str, *, write: bool) -> Plan:
    """Put ``fd`` (opened on ``path``) into the best mode at or after ``requested``."""
    requested = IoMode(requested)
    if not stat.S_ISREG(os.fstat(fd).st_mode) and not stat.S_ISBLK(os.fstat(fd).st_mode):
        if requested not in (IoMode.AUTO, IoMode.BUFFERED):
            notice(f"{path}: not a file; using buffered I/O")
        return Plan(IoMode.BUFFERED)
    auto = requested is IoMode.AUTO
    # A device's bytes are not ours to probe with (the write probe writes and truncates).
    write = write and stat.S_ISREG(os.fstat(fd).st_mode)
    chain = _CHAIN if auto else _CHAIN[_CHAIN.index(requested):]
    refused = []
    for mode in chain:
        plan = _TRY[mode](fd, auto, write)
        if isinstance(plan, Plan):
            break
        refused.append(plan)
    assert isinstance(plan, Plan)       # the chain ends with buffered I/O, which always works
    if refused:
        mount = probe.mount_of(path)
        notice(f"{mount.point} ({mount.fstype}): {', '.join(refused)}; using {plan.mode.value} I/O")
    return plan
