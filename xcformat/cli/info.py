"""``xcformat info FILE``: what an image is and what it holds."""

from __future__ import annotations

from .. import image
from ..census import Census
from ..errors import FormatError
from . import human
from .common import add_common_options, input_width, print_json


HELP = "describe an image"
DESCRIPTION = None


def add_arguments(parser) -> None:
    parser.add_argument("file", help="image to describe (- for standard input)")
    add_common_options(parser, json_help="print JSON for scripts (a damaged image too: what "
                                         "was read, and the error)")


def describe(args, path: str) -> tuple[dict, FormatError | None]:
    """The ``info`` facts of ``path`` (reads the whole image), and the format error that
    stopped the reading, if one did: the facts then hold what was read before it."""
    try:
        opened = image.open(path, guest=args.guest, width=input_width(args), io=args.io)
    except FormatError as exc:          # not an image of a known format: nothing was read
        return {"file": path, "format": None, "size": None, **Census().as_json(),
                "findings": [], "error": str(exc)}, exc
    with opened:
        info = opened.info(partial=True)
    return info.as_json(), info.error


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
