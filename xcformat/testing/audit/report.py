"""Tallying runs: a table per command, and the findings grouped so that each can be routed."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .runner import FINDINGS, Run

MIB = 1 << 20


@dataclass
class Row:
    runs: int = 0
    exits: Counter = field(default_factory=Counter)
    verdicts: Counter = field(default_factory=Counter)
    max_rss: int = 0
    max_seconds: float = 0.0

    def add(self, run: Run) -> None:
        self.runs += 1
        self.exits[run.outcome.code] += 1
        self.verdicts[run.verdict] += 1
        self.max_rss = max(self.max_rss, run.outcome.max_rss)
        self.max_seconds = max(self.max_seconds, run.outcome.seconds)


@dataclass
class Tally:
    rows: dict[str, Row] = field(default_factory=lambda: defaultdict(Row))
    findings: list[Run] = field(default_factory=list)
    mutants: int = 0
    seconds: float = 0.0

    def add(self, run: Run) -> None:
        self.rows[run.command].add(run)
        if run.verdict != "ok":
            self.findings.append(run)

    @property
    def runs(self) -> int:
        return sum(row.runs for row in self.rows.values())

    def total(self) -> Row:
        whole = Row()
        for row in self.rows.values():
            whole.runs += row.runs
            whole.exits.update(row.exits)
            whole.verdicts.update(row.verdicts)
            whole.max_rss = max(whole.max_rss, row.max_rss)
            whole.max_seconds = max(whole.max_seconds, row.max_seconds)
        return whole

    def table(self) -> str:
        head = ("command", "runs", "exit 0", "exit 1", "exit 2", *FINDINGS, "max MiB", "max s")
        lines: list[tuple] = [head]
        for name, row in [*sorted(self.rows.items()), ("total", self.total())]:
            lines.append((name, row.runs, row.exits[0], row.exits[1], row.exits[2],
                          *(row.verdicts[v] for v in FINDINGS),
                          f"{row.max_rss / MIB:.0f}", f"{row.max_seconds:.1f}"))
        widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
        text = ["  ".join(str(cell).ljust(w) if i == 0 else str(cell).rjust(w)
                          for i, (cell, w) in enumerate(zip(line, widths))) for line in lines]
        text.insert(1, "-" * len(text[0]))
        text.insert(len(text) - 1, "-" * len(text[0]))
        return "\n".join(text)

    def grouped(self) -> list[tuple[tuple[str, str, str, str], list[Run]]]:
        """Findings by (verdict, command, sample format, message), biggest groups first."""
        groups: dict[tuple, list[Run]] = defaultdict(list)
        for run in self.findings:
            groups[(run.verdict, run.command, run.mutant.sample.format, run.message)].append(run)
        return sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))

    def describe(self, seed: int) -> str:
        lines = [f"{self.mutants} mutants, {self.runs} runs in {self.seconds:.0f} s (seed {seed})",
                 self.table()]
        groups = self.grouped()
        lines.append(f"{len(self.findings)} findings" + (":" if groups else ""))
        for (verdict, command, fmt, message), runs in groups:
            first = runs[0]
            lines.append(f"- {verdict}: {command} on {fmt} ({len(runs)}x; e.g. case "
                         f"{first.mutant.case}, {first.mutant.sample.name}, "
                         f"{first.mutant.label}): {message}")
        return "\n".join(lines)
