"""``xcformat validate FILE``: is this image sound?  Exit 0 valid, 1 invalid.

Reports as ``qemu-img check`` does: every finding, reading on past an error wherever the
format's framing still says where the next structure starts, then a summary of what was checked
and of what could not be, after an error that stopped the reading.
"""

from __future__ import annotations

from .. import image
from . import human
from .common import add_common_options, input_width, print_json


HELP = "check an image strictly"
DESCRIPTION = ("Read the whole image and check it strictly.  Every finding is printed (error: the "
               "image is invalid; warning: valid, but a known reader mishandles it; info), then a "
               "summary: the findings by level, what was checked, and what could not be checked "
               "after an error that stopped the reading.  Exit 0 valid, 1 invalid.")


def add_arguments(parser) -> None:
    parser.add_argument("file", help="image to check (- for standard input)")
    add_common_options(parser, json_help="print the findings and the summary as JSON")


def run(args) -> int:
    result = image.validate(args.file, guest=args.guest, width=input_width(args), io=args.io)
    if args.json:
        print_json(result.as_json())
    else:
        for finding in result.findings:
            print(f"{finding.level}: {finding.describe(args.file)}")
        print("\n".join(_summary(result)))
        print(f"{args.file}: {'valid' if result.valid else 'INVALID'} "
              f"{result.format or 'image'}")
    return 0 if result.valid else 1


def _summary(result: image.Validation) -> list[str]:
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
