"""``xcformat validate FILE``: is this image sound?  Exit 0 valid, 1 invalid.

Reports as ``qemu-img check`` does: every finding, reading on past an error wherever the
format's framing still says where the next structure starts, then a summary of what was checked
and of what could not be, after an error that stopped the reading.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..census import Census
from ..errors import Finding, FormatError
from . import human
from .common import add_common_options, hints, open_image, print_json

LEVELS = ("error", "warning", "info")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "validate", help="check an image strictly",
        description="Read the whole image and check it strictly.  Every finding is printed "
                    "(error: the image is invalid; warning: valid, but a known reader "
                    "mishandles it; info), then a summary: the findings by level, what was "
                    "checked, and what could not be checked after an error that stopped the "
                    "reading.  Exit 0 valid, 1 invalid.")
    parser.add_argument("file", help="image to check (- for standard input)")
    add_common_options(parser, json_help="print the findings and the summary as JSON")
    parser.set_defaults(run=run)


@dataclass
class Check:
    """What one validation found and covered."""

    format: str | None = None
    size: int | None = None                 #: of the file, where known
    findings: list[Finding] = field(default_factory=list)
    census: Census = field(default_factory=Census)
    checked: int = 0                        #: bytes checked: up to the fatal error, or all
    fatal: Finding | None = None            #: the error that stopped the reading

    @property
    def valid(self) -> bool:
        return not any(f.level == "error" for f in self.findings)

    def counts(self) -> dict[str, int]:
        counted = Counter(f.level for f in self.findings)
        return {level: counted[level] for level in LEVELS}

    def unchecked(self) -> int | None:
        """Bytes after the point where reading stopped (None: unknown, as for a pipe)."""
        if self.fatal is None:
            return 0
        return None if self.size is None else max(self.size - self.checked, 0)

    def summary_json(self) -> dict:
        seen = self.census.as_json()
        return {**self.counts(), "checked_bytes": self.checked, "size": self.size,
                "stopped_at": self.checked if self.fatal else None,
                "unchecked_bytes": self.unchecked(),
                "fatal": self.fatal.as_json() if self.fatal else None,
                "seen": {k: seen[k] for k in ("pages", "batches", "vcpus", "records")}}


def check(args, path: str) -> Check:
    """Read ``path`` completely, reading on past every error the framing allows."""
    result = Check()
    try:
        with open_image(args, path) as (source, fmt, _):
            result.format, result.size = fmt.name, source.size
            reader = fmt.reader(source, hints(args))
            reader.keep_going = True
            try:
                for record in reader.records():
                    result.census.see(record)
            except FormatError as exc:
                result.fatal = Finding.of(exc)
            finally:
                result.findings.extend(reader.findings)
                result.checked = source.offset
            if result.fatal is not None and result.fatal.offset is not None:
                result.checked = result.fatal.offset  # a dump is read by offset, not in order
    except FormatError as exc:      # not an image of a known format
        result.fatal = Finding.of(exc)
    if result.fatal is not None:
        result.findings.append(result.fatal)
    return result


def run(args) -> int:
    result = check(args, args.file)
    if args.json:
        print_json({"file": args.file, "format": result.format, "valid": result.valid,
                    "findings": [f.as_json() for f in result.findings],
                    "summary": result.summary_json()})
    else:
        for finding in result.findings:
            print(f"{finding.level}: {finding.describe(args.file)}")
        print("\n".join(_summary(result)))
        print(f"{args.file}: {'valid' if result.valid else 'INVALID'} "
              f"{result.format or 'image'}")
    return 0 if result.valid else 1


def _summary(result: Check) -> list[str]:
    counts = result.counts()
    found = ", ".join(human.count(n, level) if level != "info" else f"{n} info"
                      for level, n in counts.items() if n) or "none"
    seen = result.census
    covered = (f"{human.size(result.checked, exact=False)}: "
               f"{human.count(seen.batches, 'page batch')}, "
               f"{human.count(seen.distinct.count() or 0, 'page')}, "
               f"{human.count(len(seen.vcpus), 'vCPU')}, "
               f"{human.count(sum(seen.records.values()), 'record')}")
    lines = [f"findings: {found}"]
    if result.fatal is None:
        lines.append(f"checked: the whole image, {covered}")
        return lines
    lines.append(f"checked: up to offset {result.checked:#x}, {covered}")
    rest = result.unchecked()
    left = (f"{rest} bytes from offset {result.checked:#x} to the end" if rest
            else "whatever should have followed" if rest == 0
            else f"everything after offset {result.checked:#x}")
    lines.append(f"not checked: {left}; reading stopped at the error above")
    return lines
