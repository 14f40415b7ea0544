"""``xcformat info FILE``: what an image is and what it holds."""

from __future__ import annotations

from .. import image
from .common import add_input_options, print_json


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("info", help="describe an image")
    parser.add_argument("file", help="image to describe (- for standard input)")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    add_input_options(parser)
    parser.set_defaults(run=run)


def describe(args, path: str) -> dict:
    """The ``info`` facts of ``path`` (reads the whole image)."""
    with image.open(path, guest=args.guest, width=args.width, io=args.io) as opened:
        return opened.info().as_json()


def run(args) -> int:
    facts = describe(args, args.file)
    if args.json:
        print_json(facts)
        return 0
    for key, value in facts.items():
        if key == "findings":
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items()) or "-"
        elif isinstance(value, list):
            value = ", ".join(map(str, value)) or "-"
        print(f"{key + ':':<18}{'-' if value is None else value}")
    for finding in facts["findings"]:
        print(f"{finding['level']}: {finding['message']}")
    return 0
