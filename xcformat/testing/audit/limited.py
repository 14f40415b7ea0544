"""Running one command under an address-space limit and a deadline, measuring what it took."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    code: int | None       #: exit status; -N for signal N; None when it was killed at the deadline
    stdout: bytes
    stderr: str
    seconds: float
    max_rss: int           #: peak resident memory in bytes


def _feed(pipe, data: bytes) -> None:
    try:
        pipe.write(data)
    except (BrokenPipeError, OSError):
        pass                    # the command stopped reading: its exit status says why
    finally:
        try:
            pipe.close()
        except OSError:
            pass


def run_limited(argv: list[str], *, memory: int, timeout: float,
                stdin: bytes | None = None) -> Outcome:
    """``argv`` with RLIMIT_AS ``memory`` bytes, killed after ``timeout`` seconds; ``stdin``,
    when given, arrives through a pipe."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        process = subprocess.Popen(argv, stdout=out, stderr=err, preexec_fn=limit,
                                   stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE)
        feeder = None
        if stdin is not None:
            feeder = threading.Thread(target=_feed, args=(process.stdin, stdin), daemon=True)
            feeder.start()
        killed = False
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > timeout:
                os.kill(process.pid, signal.SIGKILL)
                _, status, usage = os.wait4(process.pid, 0)
                killed = True
                break
            time.sleep(0.005)
        seconds = time.monotonic() - start
        process.returncode = os.waitstatus_to_exitcode(status)   # keep Popen from waiting again
        if feeder is not None:
            feeder.join(1)
        out.seek(0)
        err.seek(0)
        return Outcome(None if killed else process.returncode, out.read(),
                       err.read().decode("utf-8", "replace"), seconds, usage.ru_maxrss * 1024)
