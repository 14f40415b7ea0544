"""Run in dom0 beside the measured commands: sample /proc/meminfo at a fixed interval, and be a
small dom0 process that keeps touching its own working set, recording what it feels.

The working set is a file on the bench's disk, mapped and read a byte a page every round: clean
file pages are what the kernel reclaims first when a save fills the page cache (dom0 has no
swap, so anonymous memory stays put), so evictions show as major faults and slow rounds.

    python dom0_watch.py OUT WORKING_SET WATCH_DIR [INTERVAL]

Each line of OUT: boot-clock seconds, then ``Cached``, ``Dirty``, ``Writeback``, ``Shmem`` and
``MemFree`` in KiB, the round's touch time in ms, the probe's major faults so far, and the KiB
of WATCH_DIR's files (named, or held open unnamed by any process) in the page cache.  It runs
until killed.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import resource
import sys
import time

from xcformat.io.residency import cached_bytes

FIELDS = ("Cached", "Dirty", "Writeback", "Shmem", "MemFree")
#: Files' residency needs a walk over every process's open files: every this many rounds.
RESIDENCY_EVERY = 4


def meminfo() -> dict[str, int]:
    values = {}
    with open("/proc/meminfo", encoding="ascii") as file:
        for line in file:
            key, _, rest = line.partition(":")
            if key in FIELDS:
                values[key] = int(rest.split()[0])
    return values


def watched_files(directory: str) -> set[str]:
    """The regular files in ``directory`` and those open there in any process (an O_TMPFILE
    output has no name but an fd), as paths one can open."""
    paths = {entry.path for entry in os.scandir(directory) if entry.is_file(follow_symlinks=False)}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}").startswith(directory + "/"):
                        paths.add(f"/proc/{pid}/fd/{fd}")
    return paths


def resident_kib(directory: str, own: tuple[int, int]) -> int:
    """KiB of ``directory``'s files in the page cache, the probe's own working set (``own``,
    its device and inode) left out."""
    seen: dict[tuple[int, int], int] = {}
    for path in watched_files(directory):
        with contextlib.suppress(OSError, ValueError):
            st = os.stat(path)
            if (st.st_dev, st.st_ino) == own:
                continue
            if st.st_size and st.st_mode & 0o170000 == 0o100000:
                seen[st.st_dev, st.st_ino] = cached_bytes(path)
    return sum(seen.values()) // 1024


def main(out: str, working_set: str, directory: str, interval: float = 0.25) -> None:
    with open(working_set, "rb") as file:
        mapping = mmap.mmap(file.fileno(), 0, prot=mmap.PROT_READ)
        st = os.fstat(file.fileno())
    resident = 0
    with open(out, "w", buffering=1, encoding="ascii") as log:
        due = time.clock_gettime(time.CLOCK_BOOTTIME)
        rounds = 0
        while True:
            start = time.clock_gettime(time.CLOCK_BOOTTIME)
            mapping[::mmap.PAGESIZE]  # one byte of every page, read in C
            touch_ms = (time.clock_gettime(time.CLOCK_BOOTTIME) - start) * 1000
            if rounds % RESIDENCY_EVERY == 0:
                resident = resident_kib(directory, (st.st_dev, st.st_ino))
            memory = meminfo()
            faults = resource.getrusage(resource.RUSAGE_SELF).ru_majflt
            log.write(f"{start:.3f} " + " ".join(str(memory.get(k, 0)) for k in FIELDS)
                      + f" {touch_ms:.2f} {faults} {resident}\n")
            rounds += 1
            # A fixed interval; a round that overran starts the next at once, with no burst
            # of catch-up rounds after it.
            due = max(due + interval, time.clock_gettime(time.CLOCK_BOOTTIME))
            time.sleep(max(0.0, due - time.clock_gettime(time.CLOCK_BOOTTIME)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], *(float(a) for a in sys.argv[4:5]))
