"""``xcformat validate FILE``: is this image sound?  Exit 0 valid, 1 invalid."""

from __future__ import annotations

from .. import image
from .common import add_input_options, print_json


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("validate", help="check an image strictly")
    parser.add_argument("file", help="image to check (- for standard input)")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    add_input_options(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    verdict = image.validate(args.file, guest=args.guest, width=args.width, io=args.io)
    if args.json:
        print_json(verdict.as_json())
    else:
        for finding in verdict.findings:
            print(f"{finding.level}: {finding.describe(args.file)}")
        print(f"{args.file}: {'valid' if verdict.valid else 'INVALID'} {verdict.format or 'image'}")
    return 0 if verdict.valid else 1
