"""The real-Xen bench's numbers, from what its job directory holds: the steps' times
(``steps``), dom0's samples (``out/samples``, from :mod:`tests.xen.dom0_watch`), each process's
CPU (``out/time-STEP-PROGRAM``) and the guest's console."""

from __future__ import annotations

import datetime
import os
import statistics
from dataclasses import dataclass
from pathlib import Path

from .benchpaths import GUEST, Measured
from .scenario import original_md5, ran_on

KIB_PER_MIB = 1024
#: The targets: within 64 MiB of the page cache's start, at most 1.25 x the plain xl step's time.
CACHE_LIMIT_MIB = 64
TIME_FACTOR = 1.25


@dataclass(frozen=True)
class Sample:
    at: float
    cached: int      # KiB, Cached less Shmem (tmpfs and shared memory are no file's cache)
    dirty: int
    writeback: int
    touch_ms: float
    faults: int
    resident: int    # KiB of the bench disk's files in the page cache

    @classmethod
    def parse(cls, line: str) -> "Sample":
        at, cached, dirty, writeback, shmem, _free, touch, faults, resident = line.split()
        return cls(float(at), int(cached) - int(shmem), int(dirty), int(writeback), float(touch),
                   int(faults), int(resident))


@dataclass
class Row:
    step: Measured
    rc: int | None
    seconds: float | None
    samples: list[Sample]
    cpu: dict[str, tuple[float, float]]   # program -> (user, system) seconds
    guest: str                             # "ran on", why not, or "" where not asked
    size: int | None
    ratio: float | None = None
    ratio_bound: bool = False              # the plain step was stopped: the ratio is at most this

    @property
    def stopped(self) -> bool:
        """Killed at its time limit (timeout(1) exits 124): its time is a lower bound."""
        return self.rc == 124 and self.step.limit is not None

    @property
    def ratio_text(self) -> str:
        if self.ratio is None:
            return "-"
        return f"{'< ' if self.ratio_bound else ''}{self.ratio:.2f}"

    @property
    def cache_growth_mib(self) -> float:
        if not self.samples:
            return float("nan")
        return (max(s.cached for s in self.samples) - self.samples[0].cached) / KIB_PER_MIB

    def peak(self, field: str) -> float:
        return max((getattr(s, field) for s in self.samples), default=0) / KIB_PER_MIB

    @property
    def faults(self) -> int:
        return self.samples[-1].faults - self.samples[0].faults if self.samples else 0

    def touch(self, quantile: float) -> float:
        times = sorted(s.touch_ms for s in self.samples)
        return times[min(len(times) - 1, int(quantile * len(times)))] if times else 0.0

    def cells(self) -> list[str]:
        if (self.rc != 0 and not self.stopped) or self.seconds is None:
            return [self.step.name, "failed" if self.rc else "not run"] + ["-"] * 10 + [self.guest or "-"]
        cpu = " ".join(f"{p} {u + s:.0f}" for p, (u, s) in sorted(self.cpu.items()))
        wall = f"> {self.step.limit} (stopped)" if self.stopped else f"{self.seconds:.0f}"
        return [self.step.name, wall, self.ratio_text,
                f"{self.cache_growth_mib:+.0f}", f"{self.peak('resident'):.0f}",
                f"{self.peak('dirty'):.0f}", f"{self.peak('writeback'):.0f}", str(self.faults),
                f"{self.touch(1.0):.0f}", f"{self.touch(0.99):.0f}", cpu or "-",
                f"{self.size / (1 << 20):.0f}" if self.size else "-", self.guest or "-"]


HEADERS = ["step", "wall s", "× plain", "page cache peak +MiB", "its files cached peak MiB",
           "Dirty peak MiB", "Writeback peak MiB", "probe major faults", "probe worst ms",
           "probe p99 ms", "CPU s (user+sys)", "file MiB", "guest"]


def _pairs(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    return dict(line.split(" ", 1) for line in path.read_text().splitlines() if " " in line)


def _steps(job: Path) -> dict[str, tuple[int, float, float]]:
    found = {}
    path = job / "steps"
    for line in path.read_text().splitlines() if path.exists() else []:
        name, rc, start, end = line.split()
        found[name] = (int(rc), float(start), float(end))
    return found


def _cpu(job: Path, name: str) -> dict[str, tuple[float, float]]:
    found = {}
    for program in ("xl", "xcformat"):
        path = job / "out" / f"time-{name}-{program}"
        if path.exists():
            fields = path.read_text().split()[-3:]  # time puts a failed command's status first
            try:
                found[program] = (float(fields[1]), float(fields[2]))
            except (IndexError, ValueError):
                continue
    return found


@dataclass
class Report:
    job: Path
    rows: list[Row]
    facts: dict[str, str]

    @classmethod
    def load(cls, job: Path, steps: list[Measured], guest_mib: int, dom0_mib: int) -> "Report":
        out = job / "out"
        samples = [Sample.parse(line) for line in (out / "samples").read_text().splitlines()
                   if len(line.split()) == 9] if (out / "samples").exists() else []
        timed = _steps(job)
        marks, ticks, sizes = (_pairs(out / n) for n in ("marks", "ticks", "sizes"))
        console = (job / "console" / f"guest-{GUEST}.log")
        # Bytes: the marks are byte offsets (wc -c), and the log's lines end in CR LF, which
        # reading it as text would fold.
        console_bytes = console.read_bytes() if console.exists() else b""
        console_text = console_bytes.decode(errors="replace")
        md5 = original_md5(console_text) if "md5=" in console_text else ""
        rows, saved_tick = [], None
        for step in steps:
            rc, start, end = timed.get(step.name, (None, 0.0, 0.0))
            window = [s for s in samples if start - 0.3 <= s.at <= end + 0.3]
            guest = ""
            if step.guest_after == "gone" and rc == 0:
                saved_tick = int(ticks.get(step.name, "-1") or -1)
            if step.guest_after == "restored" and rc == 0 and saved_tick is not None:
                segment = console_bytes[int(marks.get(step.name, 0)):]
                why = ran_on(segment.decode(errors="replace"), saved_tick, md5)
                guest = "ran on" if why is None else why
            rows.append(Row(step, rc, end - start if rc is not None else None, window,
                            _cpu(job, step.name), guest,
                            int(sizes[step.name]) if step.name in sizes else None))
        for row in rows:
            plain = next((r for r in rows if r.step.plain and r.step.kind == row.step.kind
                          and r.step.round == row.step.round), None)
            if plain and plain.seconds and row.seconds and not row.step.plain and row.rc == 0:
                row.ratio = row.seconds / plain.seconds
                row.ratio_bound = plain.stopped
        facts = _facts(job, guest_mib, dom0_mib)
        return cls(job, rows, facts)

    @property
    def complete(self) -> bool:
        return all(r.rc == 0 for r in self.rows)

    @property
    def rounds(self) -> int:
        return max((r.step.round for r in self.rows), default=1)

    def summaries(self) -> list["Summary"]:
        """One per path, over its rounds, in the order the paths first ran."""
        paths: dict[str, list[Row]] = {}
        for row in self.rows:
            paths.setdefault(row.step.path, []).append(row)
        return [Summary(rows) for rows in paths.values()]

    def verdicts(self) -> list[str]:
        return [v for summary in self.summaries() if (v := summary.verdict())]

    def markdown(self) -> str:
        lines = ["# xcformat on a real Xen: dom0's page cache and time", ""]
        lines += [f"- {k}: {v}" for k, v in self.facts.items()]
        lines += [""] + _markdown_table(HEADERS, [r.cells() for r in self.rows])
        if self.rounds > 1:
            lines += ["", f"Over the {self.rounds} rounds:", ""]
            lines += _markdown_table(SUMMARY_HEADERS, [s.cells() for s in self.summaries()
                                                       if not s.probe])
        lines += ["", "| step | command |", "|---|---|"]
        lines += [f"| {s.path} | `{s.label}` |" for s in self.summaries()]
        lines += [""] + [f"- {v}" for v in self.verdicts()]
        return "\n".join(lines) + "\n"

    def rst(self, command: str) -> str:
        lines = [f"``{command}``", ""]
        lines += [f"* {k}: {v}" for k, v in self.facts.items()]
        lines += [""] + _rst_table(HEADERS, [r.cells() for r in self.rows])
        if self.rounds > 1:
            lines += ["", f"Over the {self.rounds} rounds (a round's ratios are to the plain xl "
                          "step of the same round):", ""]
            lines += _rst_table(SUMMARY_HEADERS, [s.cells() for s in self.summaries()
                                                  if not s.probe])
        rounds = "; ``.N`` after a name is its Nth round" if self.rounds > 1 else ""
        lines += ["", f"The steps' commands (``benchguest`` is the guest{rounds}):", ""]
        lines += [f"* {s.path}: ``{s.label}``" for s in self.summaries()]
        lines += ["", "Against the targets:", ""] + [f"* {v}" for v in self.verdicts()]
        return "\n".join(lines) + "\n"


SUMMARY_HEADERS = ["path", "rounds run", "wall s median (min-max)", "× plain median (min-max)",
                   "page cache peak +MiB, worst", "guest"]


@dataclass
class Summary:
    """One path over the rounds it ran in."""

    rows: list[Row]

    @property
    def path(self) -> str:
        return self.rows[0].step.path

    @property
    def label(self) -> str:
        return self.rows[0].step.label

    @property
    def probe(self) -> bool:
        """A step that shows where time goes, compared with nothing."""
        return self.path.startswith("probe-")

    @property
    def compared(self) -> bool:
        """Measured against plain xl (not itself plain xl or a probe)."""
        return not self.rows[0].step.plain and not self.probe

    @property
    def done(self) -> list[Row]:
        """The rounds that finished, or were stopped at their limit."""
        return [r for r in self.rows if r.rc == 0 or r.stopped]

    @property
    def ratios(self) -> list[float]:
        return [r.ratio for r in self.done if r.ratio is not None]

    @property
    def ratio_bound(self) -> bool:
        return any(r.ratio_bound for r in self.done)

    @property
    def cache_growth_mib(self) -> float:
        return max(r.cache_growth_mib for r in self.done)

    @property
    def guests(self) -> str:
        asked = [r.guest for r in self.done if r.guest]
        if not asked:
            return ""
        ran_on = sum(g == "ran on" for g in asked)
        if ran_on == len(asked):
            return "ran on" + (f" ({ran_on} of {ran_on})" if len(asked) > 1 else "")
        return "; ".join(sorted({g for g in asked if g != "ran on"})) + \
            f" ({len(asked) - ran_on} of {len(asked)})"

    def cells(self) -> list[str]:
        if any(r.stopped for r in self.done):
            wall = f"> {self.rows[0].step.limit} (stopped)"
        else:
            wall = _median_and_range([r.seconds for r in self.done if r.seconds is not None],
                                     "{:.0f}")
        ratio = _median_and_range(self.ratios, ("< " if self.ratio_bound else "") + "{:.2f}")
        return [self.path, f"{len(self.done)} of {len(self.rows)}", wall, ratio,
                f"{self.cache_growth_mib:+.0f}" if self.done else "-", self.guests or "-"]

    def verdict(self) -> str:
        """How the path did against the targets: its worst page cache growth and its median
        ratio to plain xl ("" for plain xl and the probes)."""
        if not self.compared or not self.done:
            return ""
        runs, step = len(self.rows), self.rows[0].step
        cache_ok = self.cache_growth_mib <= CACHE_LIMIT_MIB
        said = (f"{self.path}: page cache {'worst ' if runs > 1 else ''}"
                f"{self.cache_growth_mib:+.0f} MiB (target ≤ +{CACHE_LIMIT_MIB}: "
                f"{'met' if cache_ok else 'missed'}); ")
        plain = "plain xl " + step.kind + (" (stopped at its limit, so at most this)"
                                           if self.ratio_bound else "")
        ratios = self.ratios
        if ratios:
            median = statistics.median(ratios)
            spread = f" over {len(ratios)} rounds ({min(ratios):.2f}-{max(ratios):.2f})" \
                if len(ratios) > 1 else ""
            said += (f"{'median ' if len(ratios) > 1 else ''}"
                     f"{'< ' if self.ratio_bound else ''}{median:.2f}× {plain}{spread} "
                     f"(target ≤ {TIME_FACTOR}×: {'met' if median <= TIME_FACTOR else 'missed'})")
        else:
            said += "no plain row to compare with"
        if len(self.done) < runs:
            said += f"; failed in {runs - len(self.done)} of {runs} rounds"
        return said + (f"; guest {self.guests}" if self.guests else "")


def _median_and_range(values: list[float], form: str) -> str:
    """``values``' median, and their range when there are several ("-" when none)."""
    if not values:
        return "-"
    text = form.format(statistics.median(values))
    if len(values) > 1:
        low, high = (form.format(v).removeprefix("< ") for v in (min(values), max(values)))
        text += f" ({low}-{high})"
    return text


def _markdown_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    return (["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
            + ["| " + " | ".join(cells) + " |" for cells in rows])


def _rst_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for cells in [headers] + rows:
        lines.append(f"   * - {cells[0]}")
        lines += [f"     - {c}" for c in cells[1:]]
    return lines


def _facts(job: Path, guest_mib: int, dom0_mib: int) -> dict[str, str]:
    facts_text = (job / "out" / "facts").read_text() if (job / "out" / "facts").exists() else ""
    xen_line = next((l for l in facts_text.splitlines() if l.startswith("xen_version")), "")
    vcpus = sum(1 for l in facts_text.splitlines() if l.startswith("Domain-0 "))
    before = _pairs(job / "out" / "meminfo-before")
    free = before.get("MemFree:", "").split()
    versions = _pairs(job / "versions")  # written by the bench after the boot
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), "unknown")
    stamp = datetime.datetime.fromtimestamp((job / "steps").stat().st_mtime, datetime.timezone.utc) \
        if (job / "steps").exists() else None
    return {
        "date": stamp.strftime("%Y-%m-%d %H:%M UTC") if stamp else "not run",
        "host": f"{cpu}, {os.cpu_count()} cores; QEMU {versions.get('qemu-system-x86', '')} TCG "
                "(no KVM), -smp 2",
        "host load average (1, 5, 15 min) before / after": " / ".join(
            (job / n).read_text().strip() for n in ("load-before", "load-after")
            if (job / n).exists()),
        "Xen": f"{xen_line.split(':', 1)[-1].strip() or '4.17'} (Debian "
               f"{versions.get('xen-hypervisor-4.17-amd64', 'xen-hypervisor-4.17-amd64')})",
        "kernel (dom0 and guest)": ", ".join(f"Debian {package} {version}" for package, version
                                             in versions.items()
                                             if package.startswith("linux-image-")) or "-",
        "dom0": f"dom0_mem={dom0_mib}M, {vcpus} vCPUs, "
                f"{int(free[0]) // 1024 if free else '?'} MiB free with the guest running",
        "guest": f"64-bit PV, {guest_mib} MiB, 1 vCPU",
        "files": "ext4 on a virtio disk (QEMU cache=none), mounted in dom0",
        "whole boot": f"{(job / 'seconds').read_text().strip()} s" if (job / "seconds").exists()
        else "",
    }
