"""``xcformat validate FILE``: is this image sound?  Exit 0 valid, 1 invalid."""

from __future__ import annotations

from ..errors import Finding, FormatError
from .common import add_common_options, hints, open_image, print_json


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("validate", help="check an image strictly")
    parser.add_argument("file", help="image to check (- for standard input)")
    add_common_options(parser, json_help="print the findings and the summary as JSON")
    parser.set_defaults(run=run)


def check(args, path: str) -> tuple[str | None, list[Finding]]:
    """Read ``path`` completely; return its format and every finding (errors included)."""
    findings: list[Finding] = []
    fmt_name = None
    try:
        with open_image(args, path) as (source, fmt, _):
            fmt_name = fmt.name
            reader = fmt.reader(source, hints(args))
            try:
                for _ in reader.records():
                    pass
            finally:
                findings.extend(reader.findings)
    except FormatError as exc:
        findings.append(Finding("error", exc.message, exc.offset, exc.field))
    return fmt_name, findings


def run(args) -> int:
    fmt_name, findings = check(args, args.file)
    valid = not any(f.level == "error" for f in findings)
    if args.json:
        print_json({"file": args.file, "format": fmt_name, "valid": valid,
                    "findings": [f.as_json() for f in findings]})
    else:
        for finding in findings:
            print(f"{finding.level}: {finding.describe(args.file)}")
        print(f"{args.file}: {'valid' if valid else 'INVALID'} {fmt_name or 'image'}")
    return 0 if valid else 1
