"""``xcformat convert IN OUT --to FORMAT``: rewrite an image in another format (or the same)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

from .. import formats, image
from ..errors import EnvironmentProblem, UnsupportedError, XcFormatError
from ..io.passes import Input
from ..negotiate import targets
from ..negotiate.options import Option
from . import human
from .common import (add_align_option, add_common_options, add_format_options,
                     add_version_option, add_wrap_option, format_options, input_width,
                     json_needs_stdout_free, output_width, print_json, progress, progress_wanted,
                     width_also, write_options)


HELP = "convert an image to another format"
DESCRIPTION = None


def add_arguments(parser) -> None:
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
    add_wrap_option(parser, "add a file wrapper to the target")
    add_align_option(parser)
    add_version_option(parser)
    parser.add_argument("--drop", default="", metavar="KIND,...",
                        help="record kinds the target cannot carry that may be dropped "
                             "(each drop is reported)")
    add_format_options(parser)
    add_common_options(parser, json_help="print a JSON summary of what was written (the "
                                          "output cannot then be standard output)")


def run(args) -> int:
    json_needs_stdout_free(args, args.output)
    source_format, target_format, size = convert(args, args.input, args.output)
    args.report.say(f"wrote {args.output} ({target_format}, {human.size(size, exact=False)}) from "
                    f"{args.input} ({source_format})")
    if args.json:
        print_json({"input": args.input, "input_format": source_format, "output": args.output,
                    "format": target_format, "size": size, "messages": args.report.messages})
    return 0


def convert(args, source: Input, output: image.Output, *,
            refused: dict[str, str] | None = None,
            confirm: Callable[[], None] | None = None,
            new_file_mode: int = 0o666) -> tuple[str, str, int]:
    """Convert ``source`` to ``output`` as ``args`` say (``--to`` or ``--for``, ``--wrap``,
    ``--align``, ``--drop``, ...): (source format, target format, bytes written).

    ``refused`` names ``--for`` choices ruled out beforehand, with why; ``confirm`` and
    ``new_file_mode`` are :meth:`~xcformat.image.Image.write`'s."""
    refused = dict(refused or {})
    while (done := _convert(args, source, output, refused, confirm, new_file_mode)) is None:
        pass                  # --for: the chosen writer refused mid-way; try the next choice
    return done


@dataclasses.dataclass
class _Choice:
    """What ``--for`` chose, and what it has to say once the attempt is settled."""

    option: Option
    passed: list[str]           #: "--for T: not X: why" for each better choice passed over
    writing: list[str]          #: "--for T: writing X", and which file wrapper and why
    notes: list[str] = dataclasses.field(default_factory=list)   #: the writer's reports


def _convert(args, source: Input, output: image.Output, refused: dict[str, str],
             confirm: Callable[[], None] | None, new_file_mode: int
             ) -> tuple[str, str, int] | None:
    """One attempt: (source format, target format, bytes written), or None when ``--for``'s
    choice refused the image and another choice may take it (its reason added to
    ``refused``).

    With ``--for`` the attempt's messages wait until it is settled: a choice that is refused
    and retried says one line about it, and a refusal its successor repeats is said once."""
    with image.open(source, guest=args.guest, width=input_width(args), io=args.io) as opened:
        target, options, choice = _target(args, opened.detected, refused)
        say = options.say
        if choice:
            options = dataclasses.replace(options, say=choice.notes.append)
        watch = functools.partial(progress, enabled=progress_wanted(args),
                                  label=f"{opened.format} → {target.name}")
        try:
            written = opened.write(output, target, options, io=args.io, watch=watch,
                                   confirm=confirm, new_file_mode=new_file_mode)
        except XcFormatError as exc:
            if choice is None:
                raise
            # Only an aligned variant is retried (its plain twin follows it in every row).
            if isinstance(exc, UnsupportedError) and choice.option.align \
                    and _can_start_again(source, output):
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


def _can_start_again(source: Input, output: image.Output) -> bool:
    """Whether a refused attempt can be made afresh: from a file, which can be read again, to a
    path, where a refused attempt leaves nothing (a stream keeps what it was sent)."""
    return all(isinstance(end, str) and end != "-" for end in (source, output))


def _target(args, sniffed: formats.Sniffed, refused: dict[str, str]):
    """The format to write, how, and what ``--for`` chose (None with ``--to FORMAT``)."""
    options = write_options(args)
    to = args.to or ("auto" if args.target else None)
    if to is None:
        raise EnvironmentProblem("convert needs --to FORMAT or --for TARGET")
    if to != "auto":
        if args.target:
            raise EnvironmentProblem("--for goes with --to auto (or no --to at all)")
        fmt = formats.get(to)
        return fmt, _own_options(args, fmt, options, strict=True), None
    if not args.target:
        raise EnvironmentProblem("--to auto needs --for TARGET")
    row = targets.get(args.target)
    width = output_width(args) or input_width(args) or sniffed.facts.get("toolstack_bits")
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
    fmt = formats.get(option.format)
    writing += [f"--for {name}: {flag} is not for {option.format}; left aside"
                for flag in _not_taken(args, fmt)]
    return fmt, _own_options(args, fmt, options, strict=False), _Choice(
        option, [f"--for {name}: not {reason}" for reason in passed], writing)


def _own_options(args, fmt: formats.Format, options: formats.WriteOptions, *,
                 strict: bool) -> formats.WriteOptions:
    """``options`` with ``fmt``'s own options from the command line: refused where ``fmt``
    has no such option when ``strict`` (``--to FORMAT``), left aside otherwise."""
    own = fmt.capabilities.own_options(format_options(args), strict=strict,
                                       loose=width_also(args))
    return dataclasses.replace(options, format_options=own)


def _not_taken(args, fmt: formats.Format) -> list[str]:
    """The flags of formats' own options given on the command line that ``fmt`` does not have."""
    mine = {f.name for f in formats.option_fields(fmt.capabilities.options)}
    return [fld.metadata["flag"] for name, (fld, _) in formats.flags().items()
            if format_options(args)[name] is not None and name not in mine]
