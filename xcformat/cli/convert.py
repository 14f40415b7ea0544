"""``xcformat convert IN OUT --to FORMAT``: rewrite an image in another format (or the same)."""

from __future__ import annotations

import dataclasses
import functools

from .. import formats, image
from ..errors import EnvironmentProblem, UnsupportedError, XcFormatError
from ..negotiate import targets
from ..negotiate.options import Option
from . import human
from .common import (add_common_options, json_needs_stdout_free, print_json, progress,
                     progress_wanted, write_options)


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("convert", help="convert an image to another format")
    parser.add_argument("input", help="image to read (- for standard input)")
    parser.add_argument("output", help="file to write (- for standard output); written "
                                       "atomically, so it appears only when complete; a FIFO or "
                                       "a device is written in place")
    parser.add_argument("--to", metavar="FORMAT",
                        help="target format: " + ", ".join(formats.registry())
                        + "; or auto, with --for (the default when --for is given)")
    parser.add_argument("--for", dest="target", metavar="TARGET",
                        help="who will read the output (implies --to auto): picks the best "
                             "format and variant it accepts, and the file wrapper its restore "
                             "command needs (docs: compatibility): a Xen release such as "
                             "xen-4.19, or one of " + ", ".join(targets.TARGETS))
    parser.add_argument("--wrap", help="add a file wrapper to the target (format specific)")
    parser.add_argument("--align", action="store_true",
                        help="write the target's page-aligned variant")
    parser.add_argument("--format-version", type=int, metavar="N",
                        help="version of the target format, where it has several (v2: 2 for "
                             "Xen 4.6-4.13 hosts; 3, the default, for 4.14+)")
    parser.add_argument("--no-index", action="store_true",
                        help="aligned: leave out the pfn -> page index")
    parser.add_argument("--drop", default="", metavar="KIND,...",
                        help="record kinds the target cannot carry that may be dropped "
                             "(each drop is reported)")
    add_common_options(parser, json_help="print a JSON summary of what was written (the "
                                          "output cannot then be standard output)")
    parser.set_defaults(run=run)


def run(args) -> int:
    json_needs_stdout_free(args, args.output)
    refused: dict[str, str] = {}
    while (done := _convert(args, refused)) is None:
        pass                  # --for: the chosen writer refused mid-way; try the next choice
    source_format, target_format, size = done
    args.report.say(f"wrote {args.output} ({target_format}, {human.size(size, exact=False)}) from "
                    f"{args.input} ({source_format})")
    if args.json:
        print_json({"input": args.input, "input_format": source_format, "output": args.output,
                    "format": target_format, "size": size, "messages": args.report.messages})
    return 0


@dataclasses.dataclass
class _Choice:
    """What ``--for`` chose, and what it has to say once the attempt is settled."""

    option: Option
    passed: list[str]           #: "--for T: not X: why" for each better choice passed over
    writing: list[str]          #: "--for T: writing X", and which file wrapper and why
    notes: list[str] = dataclasses.field(default_factory=list)   #: the writer's reports


def _convert(args, refused: dict[str, str]) -> tuple[str, str, int] | None:
    """One attempt: (source format, target format, bytes written), or None when ``--for``'s
    choice refused the image and another choice may take it (its reason added to
    ``refused``).

    With ``--for`` the attempt's messages wait until it is settled: a choice that is refused
    and retried says one line about it, and a refusal its successor repeats is said once."""
    with image.open(args.input, guest=args.guest, width=args.width, io=args.io) as opened:
        target, options, choice = _target(args, opened.detected, refused)
        say = options.say
        if choice:
            options = dataclasses.replace(options, say=choice.notes.append)
        watch = functools.partial(progress, enabled=progress_wanted(args),
                                  label=f"{opened.format} → {target.name}")
        try:
            written = opened.write(args.output, target, options, io=args.io, watch=watch)
        except XcFormatError as exc:
            if choice is None:
                raise
            # Only an aligned variant is retried (its plain twin follows it in every row), and
            # only from a file, which can be read again.
            if isinstance(exc, UnsupportedError) and choice.option.align and args.input != "-":
                refused[choice.option.name] = str(exc)
                return None
            for line in choice.passed:
                if not line.endswith(f": {exc}"):
                    say(line)
            raise
    if choice:
        for line in (*choice.passed, *choice.writing, *choice.notes):
            say(line)
    return written.source_format, written.format, written.size


def _target(args, sniffed: formats.Sniffed, refused: dict[str, str]):
    """The format to write, how, and what ``--for`` chose (None with ``--to FORMAT``)."""
    options = write_options(args)
    to = args.to or ("auto" if args.target else None)
    if to is None:
        raise EnvironmentProblem("convert needs --to FORMAT or --for TARGET")
    if to != "auto":
        if args.target:
            raise EnvironmentProblem("--for goes with --to auto (or no --to at all)")
        return formats.get(to), options, None
    if not args.target:
        raise EnvironmentProblem("--to auto needs --for TARGET")
    row = targets.get(args.target)
    width = args.width or sniffed.facts.get("toolstack_bits")
    option, passed = targets.choose(row, width, refused)
    name = args.target if row.name == args.target else f"{args.target} ({row.name})"
    options = option.write_options(options)
    writing = [f"--for {name}: writing {option.name}"]
    if options.wrap is None and row.wrap:
        options = dataclasses.replace(options, wrap=row.wrap)
        writing.append(f"--for {name}: in an {row.wrap} save file, the only kind "
                       f"{row.wrap} restore reads")
    elif options.wrap is not None and row.wrap and options.wrap != row.wrap:
        writing.append(f"--for {name}: --wrap {options.wrap} is not what {row.wrap} restore "
                       f"reads (an {row.wrap} save file)")
    elif options.wrap is None and row.bare and not sniffed.facts.get("wrapper"):
        writing.append(f"--for {name}: {row.bare}")
    return formats.get(option.format), options, _Choice(
        option, [f"--for {name}: not {reason}" for reason in passed], writing)
