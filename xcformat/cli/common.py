"""Options and plumbing shared by the subcommands."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterable, Iterator

from .. import drops, formats
from ..errors import EnvironmentProblem
from ..io import IoMode, Source, open_source
from ..records import GuestType, Record


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """Options of every command that reads an image."""
    parser.add_argument("--guest", choices=[g.value for g in GuestType],
                        help="guest type, where the bytes cannot tell (legacy HVM vs pre-3.2 PV)")
    parser.add_argument("--width", type=int, choices=(32, 64),
                        help="toolstack word size of a legacy image (input), or of the legacy "
                             "image to write (output)")
    add_io_option(parser)
    parser.add_argument("--debug", action="store_true", help="show tracebacks")


def add_io_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--io", choices=[m.value for m in IoMode], default=IoMode.AUTO.value,
                        help="how to move the bytes (default: the best the file system allows)")


def hints(args: argparse.Namespace) -> formats.Hints:
    return formats.Hints(guest=GuestType(args.guest) if args.guest else None,
                         toolstack_bits=args.width)


@contextlib.contextmanager
def open_image(args: argparse.Namespace, path: str) -> Iterator[tuple[Source, formats.Format,
                                                                     formats.Sniffed]]:
    """Open ``path`` and recognise its format from the bytes."""
    with open_source(path, args.io) as source:
        fmt, sniffed = formats.detect(source)
        yield source, fmt, sniffed


def progress(records: Iterable[Record], source: Source, *, enabled: bool,
             label: str) -> Iterator[Record]:
    """Pass ``records`` through, showing a progress bar over the input bytes on a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield from records
        return
    from tqdm import tqdm

    with tqdm(total=source.size, unit="B", unit_scale=True, unit_divisor=1024, desc=label,
              leave=False) as bar:
        for record in records:
            bar.update(source.offset - bar.n)
            yield record


def print_json(data: dict) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def seconds(text: str) -> float:
    """An argparse type: a positive number of seconds (at most a day)."""
    value = float(text)
    if not 0 < value <= 86400:
        raise ValueError(text)
    return value


_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def byte_count(text: str) -> int:
    """An argparse type: a number of bytes, with an optional K, M, G or T (powers of 1024)."""
    number, unit = text.strip(), ""
    if number[-1:].upper() in _UNITS:
        number, unit = number[:-1], number[-1].upper()
    value = int(number) * _UNITS[unit]
    if value < 0:
        raise ValueError(text)
    return value


def write_options(args: argparse.Namespace) -> formats.WriteOptions:
    """The writer options of ``convert`` and ``send`` (those they have)."""
    drop = frozenset(filter(None, args.drop.split(",")))
    unknown = drops.unknown_kinds(drop)
    if unknown:
        raise EnvironmentProblem(f"--drop {','.join(unknown)}: not a kind (kinds: "
                                 f"{', '.join(drops.KINDS)})")
    return formats.WriteOptions(
        toolstack_bits=args.width, wrap=getattr(args, "wrap", None),
        align=getattr(args, "align", False), index=not getattr(args, "no_index", False),
        drop=drop,
        version=getattr(args, "format_version", None),
        say=lambda message: print(f"xcformat: {message}", file=sys.stderr))
