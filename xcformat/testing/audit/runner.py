"""Every command on every mutant, each in a limited subprocess, and what each run's result means."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ...drops import KINDS
from ...kinds import restore_needs
from .limited import Outcome, run_limited
from .mutants import Mutant

MEMORY = 1 << 30
TIMEOUT = 20.0
TARGETS = (("aligned",), ("core",), ("legacy",), ("v2",), ("v2", "--align"))
#: What convert may leave out: everything but the guest's own state, so that as many mutants as
#: possible reach the writers (a refusal is a clean exit 1, but it tests less).
DROP = ",".join(sorted(set(KINDS) - restore_needs()))
#: Verdicts that are findings, worst first (a run gets the first that applies).
FINDINGS = ("memory", "timeout", "traceback", "bad-exit", "invalid-output")
_MEMORY_SIGNS = ("MemoryError", "Cannot allocate memory")


@dataclass(frozen=True)
class Command:
    name: str
    argv: tuple[str, ...]          #: with {in}, {out} and {pfn} to fill in
    writes: bool = False           #: its output is an image that our validate must accept
    piped: bool = False            #: the input arrives on standard input, through a pipe


COMMANDS = (
    Command("info", ("info", "{in}")),
    Command("info --json", ("info", "{in}", "--json")),
    Command("validate", ("validate", "{in}")),
    Command("validate --json", ("validate", "{in}", "--json")),
    Command("map", ("map", "{in}")),
    Command("map --json", ("map", "{in}", "--json")),
    Command("map --svg", ("map", "{in}", "--svg", "{out}")),
    Command("page", ("page", "{in}", "--pfn", "{pfn}", "-o", "{out}")),
    *(Command(f"convert --to {' '.join(target)}",
              ("convert", "{in}", "{out}", "--to", *target, "--no-progress", "--drop", DROP),
              writes=True) for target in TARGETS),
    Command("receive", ("receive", "--listen", "-", "{out}", "--timeout", "10"), writes=True,
            piped=True),
)
BY_NAME = {command.name: command for command in COMMANDS}


@dataclass(frozen=True)
class Run:
    """One command on one mutant (or on what a command wrote: ``command`` "... | validate")."""

    mutant: Mutant
    command: str
    outcome: Outcome
    verdict: str                   #: "ok", or what went wrong (``FINDINGS``)
    message: str                   #: the last line of standard error (or validate's verdict)


def _message(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1].strip()[:300] if lines else ""


def _verdict(outcome: Outcome) -> str:
    if outcome.code is None:
        return "timeout"
    if any(sign in outcome.stderr for sign in _MEMORY_SIGNS):
        return "memory"
    if "Traceback" in outcome.stderr:
        return "traceback"
    if outcome.code not in (0, 1, 2):
        return "bad-exit"
    return "ok"


#: The interpreter that runs ``python -m xcformat`` (this one unless told otherwise).
PYTHON = (sys.executable,)


def run_mutant(mutant: Mutant, commands=COMMANDS, *, memory: int = MEMORY,
               timeout: float = TIMEOUT, python: tuple[str, ...] = PYTHON) -> Iterator[Run]:
    """Each of ``commands`` on ``mutant``; a written image is then validated (another run).
    ``python`` is the command that runs xcformat's interpreter (to audit another install)."""
    def _xcformat(*argv: str) -> list[str]:
        return [*python, "-m", "xcformat", *argv]

    with tempfile.TemporaryDirectory(prefix="xcformat-audit-") as folder:
        image, out = Path(folder) / "mutant.img", Path(folder) / "out"
        image.write_bytes(mutant.data)
        fill = {"{in}": str(image), "{out}": str(out), "{pfn}": hex(mutant.sample.pfn)}
        for command in commands:
            out.unlink(missing_ok=True)
            argv = [fill.get(arg, arg) for arg in command.argv] + list(mutant.sample.options)
            outcome = run_limited(_xcformat(*argv), memory=memory, timeout=timeout,
                                  stdin=mutant.data if command.piped else None)
            verdict = _verdict(outcome)
            yield Run(mutant, command.name, outcome, verdict, _message(outcome.stderr))
            if command.writes and verdict == "ok" and outcome.code == 0 and out.exists():
                yield _check_output(mutant, command, out, memory, timeout, _xcformat)


#: What validate says when the bytes of an old legacy image cannot tell PV from HVM.
_SAY_GUEST = "say --guest"


def _check_output(mutant: Mutant, command: Command, out: Path, memory: int,
                  timeout: float, xcformat) -> Run:
    outcome = run_limited(xcformat("validate", str(out)), memory=memory, timeout=timeout)
    if outcome.code == 2 and _SAY_GUEST in outcome.stderr:
        # A legacy image in a layout older than 3.2 is ambiguous by design: tell validate the
        # guest type, as a user would.
        outcome = run_limited(xcformat("validate", str(out), "--guest", mutant.sample.guest),
                              memory=memory, timeout=timeout)
    verdict = _verdict(outcome)
    if verdict == "ok" and outcome.code != 0:
        verdict = "invalid-output"
    text = outcome.stderr + outcome.stdout.decode("utf-8", "replace")
    errors = [line for line in text.splitlines() if line.startswith("error")]
    return Run(mutant, f"{command.name} | validate", outcome, verdict,
               errors[0][:300] if errors else _message(text))
