"""Run the real ``xcformat`` CLI in-process, with a timeout, capturing exit code and output."""

from __future__ import annotations

import contextlib
import io
import signal
from dataclasses import dataclass

from xcformat.cli import main


class Hang(Exception):
    """The command did not finish in time."""


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def _alarm(signum, frame):
    raise Hang()


def xcformat(*argv, timeout: int = 30) -> Result:
    """``xcformat ARGV...`` in this process; a hang raises :class:`Hang` (no pytest-timeout)."""
    out, err = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(timeout)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(arg) for arg in argv])
            except SystemExit as exc:     # argparse usage errors
                code = exc.code
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return Result(code, out.getvalue(), err.getvalue())
