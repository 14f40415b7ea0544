"""``xcformat info FILE``: what an image is and what it holds."""

from __future__ import annotations

from ..census import Census
from ..errors import FormatError
from . import human
from .common import add_common_options, hints, open_image, print_json


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("info", help="describe an image")
    parser.add_argument("file", help="image to describe (- for standard input)")
    add_common_options(parser, json_help="print JSON for scripts (a damaged image too: what "
                                         "was read, and the error)")
    parser.set_defaults(run=run)


def describe(args, path: str) -> tuple[dict, FormatError | None]:
    """The ``info`` facts of ``path`` (reads the whole image), and the format error that
    stopped the reading, if one did: the facts then hold what was read before it."""
    facts: dict = {"file": path, "format": None, "size": None}
    census = Census()
    findings: list = []
    try:
        with open_image(args, path) as (source, fmt, _):
            facts.update(format=fmt.name, size=source.size)
            reader = fmt.reader(source, hints(args))
            findings = reader.findings
            for record in reader.records():
                census.see(record)
            facts.update(census.as_json())
            facts.update(reader.summary())
    except FormatError as exc:
        facts.update(census.as_json())
        error = exc
    else:
        error = None
    facts["findings"] = [f.as_json() for f in findings]
    facts["error"] = str(error) if error else None
    return facts, error


def run(args) -> int:
    facts, error = describe(args, args.file)
    if args.json:
        print_json(facts)
    elif error is not None and facts["format"] is None:
        raise error  # not an image of any known format: there is nothing to describe
    else:
        _print(facts)
    if error is not None:
        raise error
    return 0


def _print(facts: dict) -> None:
    shown = {key: human.size(v) if key == "size" else v for key, v in facts.items()
             if key not in ("findings", "error")}
    print(human.columns(shown.items()))
    for finding in facts["findings"]:
        print(f"{finding['level']}: {finding['message']}")
