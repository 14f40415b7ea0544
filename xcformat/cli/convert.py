"""``xcformat convert IN OUT --to FORMAT``: rewrite an image in another format (or the same)."""

from __future__ import annotations

import functools

from .. import formats, image
from ..errors import EnvironmentProblem, UnsupportedError
from ..negotiate import targets
from . import human
from .common import (add_common_options, json_needs_stdout_free, print_json, progress,
                     progress_wanted, write_options)


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("convert", help="convert an image to another format")
    parser.add_argument("input", help="image to read (- for standard input)")
    parser.add_argument("output", help="file to write (- for standard output); written "
                                       "atomically, so it appears only when complete; a FIFO or "
                                       "a device is written in place")
    parser.add_argument("--to", required=True, metavar="FORMAT",
                        help="target format: " + ", ".join(formats.registry())
                        + "; or auto, with --for")
    parser.add_argument("--for", dest="target", metavar="TARGET",
                        help="with --to auto: who will read the output; picks the best format "
                             "and variant it accepts (docs: compatibility): "
                             + ", ".join(targets.TARGETS))
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


def _convert(args, refused: dict[str, str]) -> tuple[str, str, int] | None:
    """One attempt: (source format, target format, bytes written), or None when ``--for``'s
    choice refused the image and another choice may take it (its reason added to
    ``refused``)."""
    with image.open(args.input, guest=args.guest, width=args.width, io=args.io) as opened:
        target, options, option = _target(args, opened.detected, refused)
        watch = functools.partial(progress, enabled=progress_wanted(args),
                                  label=f"{opened.format} → {target.name}")
        try:
            written = opened.write(args.output, target, options, io=args.io, watch=watch)
        except UnsupportedError as exc:
            # Only an aligned variant is retried (its plain twin follows it in every row), and
            # only from a file, which can be read again.
            if option is None or not option.align or args.input == "-":
                raise
            refused[option.name] = str(exc)
            return None
    return written.source_format, written.format, written.size


def _target(args, sniffed: formats.Sniffed, refused: dict[str, str]):
    """The format to write, how, and the ``--for`` option chosen (None with ``--to FORMAT``)."""
    options = write_options(args)
    if args.to != "auto":
        if args.target:
            raise EnvironmentProblem("--for goes with --to auto")
        return formats.get(args.to), options, None
    if not args.target:
        raise EnvironmentProblem("--to auto needs --for TARGET")
    width = args.width or sniffed.facts.get("toolstack_bits")
    option, passed = targets.choose(targets.get(args.target), width, refused)
    # A retry repeats only what is new: why the writer refused.
    for reason in passed if not refused else [r for r in passed if r.split(":")[0] in refused]:
        options.say(f"--for {args.target}: not {reason}")
    options.say(f"--for {args.target}: writing {option.name}")
    return formats.get(option.format), option.write_options(options), option
