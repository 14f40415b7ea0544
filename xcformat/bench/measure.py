"""Run one command from a cold cache and measure it: wall time, peak RSS of the process
(``VmHWM`` sampled every 50 ms), how far ``Cached:`` less ``Shmem:`` in /proc/meminfo rose above its start while it ran
(sampled every 50 ms; the whole machine's page cache, so other work on it shows up too), and the most of
the input and output files the page cache held at once (``mincore``, this run's files only)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

from ..io.residency import cached_bytes

SAMPLE_SECONDS = 0.05


@dataclass
class Measurement:
    seconds: float
    peak_rss: int          # bytes
    cache_growth: int      # bytes
    returncode: int
    stderr: str
    files_cached: int = 0  # peak bytes of the input and output files in the page cache
    cpu: float = 0.0       # user + system seconds of the command (its threads included)


def cached() -> int:
    """File pages in the page cache now: ``Cached:`` less ``Shmem:`` (tmpfs files and shared
    anonymous memory count as Cached but are no file's cache), in bytes."""
    values = {}
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        for line in meminfo:
            key, _, rest = line.partition(":")
            values[key] = int(rest.split()[0]) * 1024
    return values["Cached"] - values.get("Shmem", 0)


def drop_caches(files: list[str]) -> str | None:
    """Write back and drop the page cache; None on success, else why it could not (then at
    least ``files`` are evicted, which needs no privilege)."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w", encoding="ascii") as knob:
            knob.write("3\n")
    except OSError as exc:
        for path in files:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
        return (f"page cache not dropped ({exc.strerror}; needs root): only the input file "
                "was evicted before each run")
    return None


#: Loaded after dropping the caches so that the growth counts the image files, not the
#: interpreter's and tools' own files being read back in.
WARM_UP = [[sys.executable, "-c", "import xcformat.cli, xcformat.bench.iocopy, "
            "xcformat.formats as f; f.registry()"], ["dd", "--version"], ["cp", "--version"]]


def child_env(env: dict[str, str] | None, pycache: str) -> dict[str, str]:
    """The environment of a measured command: Python may keep its compiled modules (in
    ``pycache``), as an installed xcformat does, even where the caller's environment says not
    to write them, so that no row pays for compiling the sources."""
    env = dict(os.environ if env is None else env, PYTHONPYCACHEPREFIX=pycache)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def warm_up(env: dict[str, str]) -> None:
    for argv in WARM_UP:
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                       env=env)


def _files_cached(paths: tuple[str, ...], pid: int | None, directory: str | None) -> int:
    """Bytes in the page cache of ``paths`` and of the files process ``pid`` holds open in
    ``directory`` (an unnamed O_TMPFILE output has no path but one in /proc/PID/fd)."""
    seen = {path for path in paths if os.path.exists(path)}
    if pid is not None and directory:
        fd_dir = f"/proc/{pid}/fd"
        with contextlib.suppress(OSError):
            for fd in os.listdir(fd_dir):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"{fd_dir}/{fd}")
                    if os.path.dirname(target) == directory:  # not in subdirectories
                        seen.add(f"{fd_dir}/{fd}")
    counted: dict[tuple[int, int], int] = {}  # one file seen by name and by fd counts once
    for path in seen:
        with contextlib.suppress(OSError, ValueError):
            st = os.stat(path)
            counted[st.st_dev, st.st_ino] = cached_bytes(path)
    return sum(counted.values())


def _high_water_mark(pid: int) -> int:
    """``VmHWM`` of process ``pid`` in bytes (0 once it has exited).  Unlike ``ru_maxrss`` it
    starts afresh at exec, so it does not count the benchmark's own memory that the child
    carried between fork and exec."""
    with contextlib.suppress(OSError):
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    return 0


class _CacheWatch(threading.Thread):
    """Samples the machine's file page cache, the run's own files' share of it and the
    command's peak memory."""

    def __init__(self, files: tuple[str, ...]):
        super().__init__(daemon=True)
        self.files = files
        self.directory = os.path.dirname(files[0]) if files else None
        self.pid: int | None = None
        self.start_value = cached()
        self.peak = self.start_value
        self.files_peak = 0
        self.rss_peak = 0
        self._done = threading.Event()

    def sample(self) -> None:
        self.peak = max(self.peak, cached())
        if self.pid is not None:
            self.rss_peak = max(self.rss_peak, _high_water_mark(self.pid))
        self.files_peak = max(self.files_peak,
                              _files_cached(self.files, self.pid, self.directory))

    def run(self) -> None:
        while not self._done.wait(SAMPLE_SECONDS):
            self.sample()

    def finish(self) -> None:
        self._done.set()
        self.join()
        self.pid = None
        self.sample()


def run(argv: list[str], env: dict[str, str] | None = None, files: tuple[str, ...] = ()
        ) -> Measurement:
    """Run ``argv``; ``files`` are the input and output (in one directory) whose page-cache
    share is followed exactly."""
    watch = _CacheWatch(files)
    began = time.perf_counter()
    child = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    watch.pid = child.pid
    watch.start()
    stderr = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - began
    child.returncode = os.waitstatus_to_exitcode(status)
    watch.finish()
    # ru_maxrss only where no sample caught the command alive (it exited within 50 ms).
    rss = watch.rss_peak or usage.ru_maxrss * 1024
    return Measurement(seconds, rss, watch.peak - watch.start_value,
                       child.returncode, stderr.decode(errors="replace").strip(),
                       watch.files_peak, usage.ru_utime + usage.ru_stime)
