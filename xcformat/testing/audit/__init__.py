"""A mutation fuzz of the whole command line: every format, every command, under limits.

Each mutant (module ``mutants``: random edits, field edits, truncations, splices) of each sample
image (module ``samples``: every format and its variants) goes through every command
(:data:`COMMANDS`: info, validate, map, page, convert to every target, receive from a pipe), each in its own process with a 1 GiB address-space limit and a 20 s deadline, and
every image a command writes is validated.  A run is a finding when it shows a traceback, runs
out of memory or time, exits with a status other than 0, 1 or 2, or writes an image that
``xcformat validate`` rejects.  The run is seeded: ``--seed S --case N`` repeats one mutant.

``tools/fuzz-audit --help`` (or ``python -m xcformat.testing.audit``) for the options.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .mutants import Mutant, mutant
from .report import Tally
from .runner import COMMANDS, MEMORY, PYTHON, TIMEOUT, Command, Run, run_mutant
from .samples import RECIPES, Sample, build_samples

__all__ = ["audit", "Tally", "Run", "Mutant", "Sample", "Command", "COMMANDS", "RECIPES",
           "build_samples", "mutant", "run_mutant"]


def audit(*, seed: int = 0, runs: int = 100, seconds: float | None = None, jobs: int = 1,
          samples: list[str] | None = None, commands=COMMANDS, cases: list[int] | None = None,
          memory: int = MEMORY, timeout: float = TIMEOUT, python: tuple[str, ...] = PYTHON,
          on_run: Callable[[Run], None] | None = None) -> Tally:
    """Mutants ``0, 1, ...`` (or just ``cases``) until ``runs`` command runs or ``seconds`` have
    been spent, ``jobs`` mutants at a time; ``python`` runs the xcformat under test."""
    tally, lock = Tally(), threading.Lock()
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="xcformat-audit-samples-") as folder:
        built = build_samples(Path(folder), samples)

        def one(case: int) -> list[Run]:
            if tally.runs >= runs or (seconds is not None and time.monotonic() - start > seconds):
                return []
            done = []
            for run in run_mutant(mutant(seed, case, built), commands, memory=memory,
                                  timeout=timeout, python=python):
                done.append(run)
                with lock:
                    tally.add(run)
                    if on_run is not None:
                        on_run(run)
            with lock:
                tally.mutants += 1
            return done

        wanted = cases if cases is not None else _forever()
        with ThreadPoolExecutor(max(1, jobs)) as pool:
            pending = []
            for case in wanted:
                if tally.runs >= runs or (seconds is not None
                                          and time.monotonic() - start > seconds):
                    break
                pending.append(pool.submit(one, case))
                if len(pending) >= jobs:
                    pending.pop(0).result()
            for future in pending:
                future.result()
    tally.seconds = time.monotonic() - start
    return tally


def _forever():
    case = 0
    while True:
        yield case
        case += 1
