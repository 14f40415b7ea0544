"""The benchmark's results as a markdown table (printed) and a reStructuredText page (docs)."""

from __future__ import annotations

from dataclasses import dataclass

from .cases import Case
from .measure import Measurement

MIB = 1 << 20
#: The targets: a direct conversion within 1.25 x dd's time, at most 64 MiB more page cache, at
#: most 100 MiB peak RSS, whatever the image size.
DD_FACTOR = 1.25
CACHE_LIMIT = 64 * MIB
RSS_LIMIT = 100 * MIB


@dataclass
class Row:
    case: Case
    runs: list[Measurement]

    @property
    def seconds(self) -> float:
        times = sorted(m.seconds for m in self.runs)
        return times[len(times) // 2]

    @property
    def cpu(self) -> float:
        values = sorted(m.cpu for m in self.runs)
        return values[len(values) // 2]

    @property
    def cache(self) -> int:
        return max(m.cache_growth for m in self.runs)

    @property
    def rss(self) -> int:
        return max(m.peak_rss for m in self.runs)

    @property
    def residue(self) -> int:
        return max(m.files_cached for m in self.runs)

    @property
    def ok(self) -> bool:
        return all(m.returncode == 0 for m in self.runs)

    def cells(self, size: int) -> list[str]:
        if not self.ok:
            failed = next(m for m in self.runs if m.returncode)
            why = failed.stderr.splitlines()[-1] if failed.stderr else f"exit {failed.returncode}"
            return [self.case.label, self.case.io] + ["-"] * 6 + [f"failed: {why}"]
        return [self.case.label, self.case.io, f"{self.seconds:.2f}", f"{self.cpu:.2f}",
                f"{size / self.seconds / 1e6:.0f}", f"{self.cache / MIB:.0f}",
                f"{self.residue / MIB:.0f}", f"{self.rss / MIB:.0f}", "ok"]


HEADERS = ["command", "--io", "wall s", "CPU s", "MB/s", "page cache +MiB", "IN+OUT cached peak MiB",
           "peak RSS MiB", "result"]


def verdicts(rows: list[Row]) -> list[str]:
    """How the direct-I/O rows compare with the targets."""
    def find(label: str, io: str) -> Row | None:
        return next((r for r in rows if r.case.label.startswith(label) and r.case.io == io
                     and r.ok), None)

    dd = find("dd", "-")
    out = []
    for label in ("xcformat convert --to aligned", "I/O layer copy", "xcformat validate"):
        row = find(label, "direct")
        if row is None:
            continue
        parts = []
        if dd and not label.startswith("xcformat validate"):
            ratio = row.seconds / dd.seconds
            parts.append(f"{ratio:.2f}× dd's time (target ≤ {DD_FACTOR}×: "
                         f"{'met' if ratio <= DD_FACTOR else 'missed'})")
        parts.append(f"its files in the page cache ≤ {row.residue / MIB:.0f} MiB (target ≤ 64: "
                     f"{'met' if row.residue <= CACHE_LIMIT else 'missed'}; machine-wide "
                     f"growth {row.cache / MIB:.0f} MiB, other work included)")
        parts.append(f"peak RSS {row.rss / MIB:.0f} MiB (target ≤ 100: "
                     f"{'met' if row.rss <= RSS_LIMIT else 'missed'})")
        out.append(f"{label} --io direct: " + "; ".join(parts))
    return out


def markdown(machine: dict[str, str], size: int, notes: list[str], rows: list[Row]) -> str:
    lines = [f"# xcformat benchmark, {size} bytes of input", ""]
    lines += [f"- {key}: {value}" for key, value in machine.items()]
    lines += [f"- note: {note}" for note in notes]
    lines += ["", "| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(row.cells(size)) + " |" for row in rows]
    lines += [""] + [f"- {v}" for v in verdicts(rows)]
    return "\n".join(lines) + "\n"


def size_name(size: int) -> str:
    """``size`` (as asked for with --size) for titles and file names: "1 GiB", "64 MiB"."""
    return f"{size / (1 << 30):g} GiB" if size >= 1 << 30 else f"{size / (1 << 20):g} MiB"


def rst(machine: dict[str, str], asked: int, size: int, notes: list[str], rows: list[Row],
        command: str) -> str:
    """One run as a section of docs/benchmarks.rst (included from there)."""
    title = f"{size_name(asked)} input"
    lines = [title, "-" * len(title), "", f"``{command}`` ({size} bytes of input)", ""]
    lines += [f"* {key}: {value}" for key, value in machine.items()]
    lines += [f"* note: {note}" for note in notes]
    lines += ["", ".. list-table::", "   :header-rows: 1", ""]
    for cells in [HEADERS] + [row.cells(size) for row in rows]:
        lines.append("   * - " + cells[0].replace("*", r"\*"))
        lines += [f"     - {cell}" for cell in cells[1:]]
    lines += ["", "Against the targets:", ""]
    lines += [f"* {v}" for v in verdicts(rows)] or ["* no direct-I/O row ran"]
    return "\n".join(lines) + "\n"
