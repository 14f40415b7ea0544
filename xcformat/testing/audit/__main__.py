"""``python -m xcformat.testing.audit``: the command-line mutation fuzz (``tools/fuzz-audit``)."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from . import audit
from .report import MIB
from .runner import BY_NAME, MEMORY, PYTHON, TIMEOUT
from .samples import RECIPES


def _names(text: str, known, what: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown {what}: {', '.join(unknown)} "
                                         f"(known: {', '.join(known)})")
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tools/fuzz-audit", description="Mutate sample images of every format and run "
        "every xcformat command on them under a memory limit and a deadline; exit 1 if any run "
        "shows a traceback, runs out of memory or time, exits other than 0/1/2, or writes an "
        "image that validate rejects.")
    parser.add_argument("--seed", type=int, default=0, help="seed of the mutants (default 0)")
    parser.add_argument("--runs", type=int, default=1000,
                        help="stop after about this many command runs (default 1000)")
    parser.add_argument("--seconds", type=float, help="stop starting mutants after this long")
    parser.add_argument("--jobs", type=int, default=1, help="mutants at a time (default 1)")
    parser.add_argument("--case", type=int, action="append", dest="cases",
                        help="run only this mutant (repeatable): reproduces a finding, given "
                             "the same --seed and --samples")
    parser.add_argument("--samples", type=lambda t: _names(t, RECIPES, "sample"),
                        help="comma-separated sample names (default all: "
                             + ", ".join(RECIPES) + ")")
    parser.add_argument("--commands", type=lambda t: _names(t, BY_NAME, "command"),
                        help="comma-separated commands (default all: " + ", ".join(BY_NAME) + ")")
    parser.add_argument("--memory", type=int, default=MEMORY // MIB,
                        help=f"address-space limit per run, MiB (default {MEMORY // MIB})")
    parser.add_argument("--timeout", type=float, default=TIMEOUT,
                        help=f"deadline per run, seconds (default {TIMEOUT:.0f})")
    parser.add_argument("--python", type=shlex.split, default=list(PYTHON), metavar="COMMAND",
                        help="the interpreter that runs the xcformat under test, e.g. 'env "
                             "PYTHONPATH=/other/checkout python3' (default: this one)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="save each finding's mutant and a findings.json here")
    parser.add_argument("--progress", action="store_true", help="a dot per run on stderr")
    args = parser.parse_args(argv)
    commands = [BY_NAME[name] for name in args.commands] if args.commands else list(BY_NAME.values())

    def dot(run) -> None:
        sys.stderr.write("." if run.verdict == "ok" else "!")
        sys.stderr.flush()

    tally = audit(seed=args.seed, runs=args.runs, seconds=args.seconds, jobs=args.jobs,
                  samples=args.samples, commands=commands, cases=args.cases,
                  memory=args.memory * MIB, timeout=args.timeout, python=tuple(args.python),
                  on_run=dot if args.progress else None)
    if args.progress:
        sys.stderr.write("\n")
    print(tally.describe(args.seed))
    if args.keep is not None:
        _keep(args.keep, tally, args.seed)
    return 1 if tally.findings else 0


def _keep(folder: Path, tally, seed: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for run in tally.findings:
        name = f"case-{run.mutant.case}-{run.mutant.sample.name}.img"
        (folder / name).write_bytes(run.mutant.data)
        rows.append({"seed": seed, "case": run.mutant.case, "sample": run.mutant.sample.name,
                     "format": run.mutant.sample.format, "mutation": run.mutant.label,
                     "command": run.command, "verdict": run.verdict, "exit": run.outcome.code,
                     "seconds": round(run.outcome.seconds, 2),
                     "max_rss_mib": round(run.outcome.max_rss / MIB), "message": run.message,
                     "image": name})
    (folder / "findings.json").write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
