"""Options and plumbing shared by the subcommands."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterable, Iterator

from .. import drops, formats
from ..errors import EnvironmentProblem
from ..io import IoMode, Source, open_source
from ..records import GuestType, Record


#: The title of the group of options every command takes, in ``--help``.
COMMON_OPTIONS = "options of every command"
#: The title of the group of the formats' own options (from their capabilities), in ``--help``.
FORMAT_OPTIONS = "options of one format"
#: Toolstack word sizes (bits) of a legacy stream.
WIDTHS = (32, 64)
#: What ``--width`` also stands for where a command writes, as it did before ``--input-width``
#: and this flag split its two meanings: the legacy writer's toolstack width.
WIDTH_ALSO = "--output-width"
#: Where the formats' own options are kept on the parsed arguments: this prefix + field name.
_OWN = "format_option_"


def add_common_options(parser: argparse.ArgumentParser, *, json_help: str) -> None:
    """The options every command takes, in one group so that ``--help`` shows them apart:
    what to print (``--json``, ``--quiet``, ``--no-progress``) and how to read the image."""
    group = parser.add_argument_group(COMMON_OPTIONS)
    group.add_argument("--json", action="store_true", help=json_help)
    group.add_argument("-q", "--quiet", action="store_true",
                       help="print nothing on standard error but errors (and receive's "
                            "'listening on HOST:PORT', which scripts wait for)")
    group.add_argument("--no-progress", action="store_true",
                       help="no progress bar (there is none anyway when standard error is not "
                            "a terminal)")
    add_input_options(group)


def add_input_options(parser) -> None:
    """Options of every command that reads an image."""
    parser.add_argument("--guest", choices=[g.value for g in GuestType],
                        help="guest type, where the bytes cannot tell (legacy HVM vs pre-3.2 PV)")
    parser.add_argument("--input-width", type=int, choices=WIDTHS,
                        help="toolstack word size of a legacy input, where its bytes cannot "
                             "tell")
    parser.add_argument("--width", type=int, choices=WIDTHS,
                        help="the older spelling of --input-width; convert and send also write "
                             f"a legacy output at that width unless {WIDTH_ALSO} says otherwise")
    add_io_option(parser)
    parser.add_argument("--debug", action="store_true", help="show tracebacks")


def add_io_option(parser) -> None:
    parser.add_argument("--io", choices=[m.value for m in IoMode], default=IoMode.AUTO.value,
                        help="how to move the bytes (default: the best the file system allows)")


def input_width(args: argparse.Namespace) -> int | None:
    """The toolstack width the user gave for the input (``--input-width``, or ``--width``)."""
    return args.input_width or args.width


def hints(args: argparse.Namespace) -> formats.Hints:
    return formats.Hints(guest=GuestType(args.guest) if args.guest else None,
                         toolstack_bits=input_width(args))


@contextlib.contextmanager
def open_image(args: argparse.Namespace, path: str) -> Iterator[tuple[Source, formats.Format,
                                                                     formats.Sniffed]]:
    """Open ``path`` and recognise its format from the bytes."""
    with open_source(path, args.io) as source:
        fmt, sniffed = formats.detect(source)
        yield source, fmt, sniffed


class Report:
    """What a command tells the operator on standard error (nothing with ``--quiet``), kept
    for its ``--json`` summary too."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.messages: list[str] = []

    def say(self, message: str) -> None:
        self.messages.append(message)
        if not self.quiet:
            print(f"xcformat: {message}", file=sys.stderr, flush=True)


def progress_wanted(args: argparse.Namespace) -> bool:
    return not (args.no_progress or args.quiet)


def progress(records: Iterable[Record], source: Source, *, enabled: bool,
             label: str) -> Iterator[Record]:
    """Pass ``records`` through, showing a progress bar over the input bytes on a terminal
    (a byte count and rate where the size is unknown, as from a peer)."""
    if not enabled or not sys.stderr.isatty():
        yield from records
        return
    from tqdm import tqdm

    with tqdm(total=source.size or None, unit="B", unit_scale=True, unit_divisor=1024,
              desc=label, leave=False) as bar:
        for record in records:
            bar.update(source.offset - bar.n)
            yield record


def json_needs_stdout_free(args: argparse.Namespace, path: str) -> None:
    """``--json`` prints on standard output, so the image cannot go there too."""
    if args.json and path == "-":
        raise EnvironmentProblem("--json prints on standard output: write the image to a file")


def print_json(data: dict) -> None:
    import json      # only --json needs it: kept out of every command's start-up

    json.dump(data, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def seconds(text: str) -> float:
    """An argparse type: a positive number of seconds (at most a day)."""
    value = float(text)
    if not 0 < value <= 86400:
        raise ValueError(text)
    return value


def number(text: str, what: str = "number") -> int:
    """A whole number >= 0, decimal or 0x... hex; a clear usage error otherwise."""
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a {what} (decimal, or 0x... hex)"
                                         ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text}: a {what} cannot be negative")
    return value


def offset(text: str) -> int:
    """An argparse type: a byte offset."""
    return number(text, "byte offset")


_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def byte_count(text: str) -> int:
    """An argparse type: a number of bytes >= 0, with an optional K, M, G or T suffix (powers
    of 1024)."""
    digits, unit = text.strip(), ""
    if digits[-1:].upper() in _UNITS and digits[-1:]:
        digits, unit = digits[:-1], digits[-1].upper()
    if not digits.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of bytes (e.g. 4096, 64K, "
                                         f"2G)")
    return int(digits) * _UNITS[unit]


# --wrap and --format-version list what each format takes; the target's capabilities refuse
# the rest, naming what that format takes (argparse's choices would list every format's).
def add_wrap_option(parser, help: str) -> None:
    """``--wrap``: the wrappers each format declares."""
    takers = [(name, fmt.capabilities.wraps) for name, fmt in formats.registry().items()
              if fmt.capabilities.wraps]
    parser.add_argument("--wrap", metavar="WRAPPER", help=help + " ("
                        + "; ".join(f"{name}: {', '.join(wraps)}" for name, wraps in takers)
                        + ")")


def add_align_option(parser) -> None:
    """``--align``: what it does to each format that has a page-aligned variant."""
    variants = "; ".join(f"{name}: {fmt.capabilities.aligned}"
                         for name, fmt in formats.registry().items() if fmt.capabilities.aligned)
    parser.add_argument("--align", action="store_true",
                        help=f"write the target's page-aligned variant ({variants})")


def add_version_option(parser) -> None:
    """``--format-version``: the versions the formats declare."""
    versioned = [(name, fmt.capabilities.versions) for name, fmt in formats.registry().items()
                 if fmt.capabilities.versions]
    parser.add_argument("--format-version", type=int, metavar="N",
                        help="version of the target format: "
                             + "; ".join(f"{name} {' or '.join(map(str, versions))}"
                                         for name, versions in versioned)
                             + " (default: the input's, where it is that format, else the "
                               "newest; --for picks what a Xen release restores)")


def add_format_options(parser) -> None:
    """Each format's own options (its ``Capabilities.options``), in a group of their own."""
    group = parser.add_argument_group(FORMAT_OPTIONS)
    for name, (fld, takers) in formats.flags().items():
        meta = fld.metadata
        help = f"{', '.join(takers)}: {meta['help']}"
        if meta["value"] is not None:
            group.add_argument(meta["flag"], dest=_OWN + name, action="store_const",
                               const=meta["value"], help=help)
        else:
            kind = type(meta["choices"][0]) if meta["choices"] else str
            group.add_argument(meta["flag"], dest=_OWN + name, type=kind,
                               choices=meta["choices"], help=help)


def format_options(args: argparse.Namespace) -> dict[str, object]:
    """The formats' own options given on the command line, by field name (None: not given)."""
    return {name: getattr(args, _OWN + name, None) for name in formats.flags()}


def width_also(args: argparse.Namespace) -> dict[str, object]:
    """What ``--width`` still sets where a command writes (its old meaning for the output),
    by field name: given way to by the field's own flag, and never refused."""
    return {name: args.width for name, (fld, _) in formats.flags().items()
            if fld.metadata["flag"] == WIDTH_ALSO}


def output_width(args: argparse.Namespace) -> int | None:
    """The toolstack width a legacy output is asked to have (``--output-width``, ``--width``)."""
    given = format_options(args)
    width = next((given[name] for name in width_also(args) if given[name]), None)
    return width if isinstance(width, int) else args.width


def write_options(args: argparse.Namespace) -> formats.WriteOptions:
    """The writer options of ``convert`` and ``send`` that every format is asked (those they
    have); the format's own come from :func:`format_options` once the format is known."""
    drop = frozenset(filter(None, args.drop.split(",")))
    unknown = drops.unknown_kinds(drop)
    if unknown:
        raise EnvironmentProblem(f"--drop {','.join(unknown)}: not a kind (kinds: "
                                 f"{', '.join(drops.KINDS)})")
    return formats.WriteOptions(
        wrap=getattr(args, "wrap", None), align=getattr(args, "align", False), drop=drop,
        version=getattr(args, "format_version", None), say=args.report.say)
