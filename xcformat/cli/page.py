"""``xcformat page FILE --pfn N[-M] [-o OUT]``: guest pages, by pfn.

Formats with random access (aligned's index) answer with two small reads per page; the others
are scanned once for the whole range, and the latest copy of each page wins.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import FormatError
from ..io import open_sink
from ..io.outputs import classify, input_stat
from ..pagefind import find_pages
from ..records import PAGE_SIZE
from .common import (add_common_options, hints, json_needs_stdout_free, number, open_image,
                     print_json)

#: The most pages one ``--pfn`` range may name (they are held in memory: 16 MiB).
MAX_PAGES = 4096


def pfn_range(text: str) -> range:
    """An argparse type: ``N`` or ``FIRST-LAST`` (both included), decimal or 0x... hex."""
    first, dash, last = text.partition("-")
    if not first:
        raise argparse.ArgumentTypeError(f"{text}: a pfn cannot be negative")
    pfns = range(number(first, "pfn"), number(last, "pfn") + 1 if dash else number(first, "pfn") + 1)
    if not pfns:
        raise argparse.ArgumentTypeError(f"{text}: the range ends before it starts")
    if len(pfns) > MAX_PAGES:
        raise argparse.ArgumentTypeError(f"{text}: {len(pfns)} pages; at most {MAX_PAGES} at "
                                         "a time")
    return pfns


HELP = "extract guest pages by pfn"
DESCRIPTION = ("Print or save guest pages.  On a terminal (or with --hex) they are shown as "
               "hexdump -C does, at their guest-physical addresses: ASCII beside the hex, "
               "repeated lines folded into '*'.  Otherwise the raw bytes are written.")


def add_arguments(parser) -> None:
    parser.add_argument("file", help="image to read (- for standard input)")
    parser.add_argument("--pfn", required=True, type=pfn_range, metavar="N|FIRST-LAST",
                        help=f"guest pfn, or an inclusive range of at most {MAX_PAGES} (decimal, "
                             "or 0x... hex: --pfn 0x10-0x1f)")
    parser.add_argument("-o", "--output", metavar="OUT",
                        help="write the pages' bytes here, 4096 per pfn in order (default: "
                             "standard output; a hex dump on a terminal)")
    parser.add_argument("--hex", action="store_true",
                        help="a hex dump even when standard output is not a terminal")
    add_common_options(parser, json_help="print JSON: where each page was found, and its "
                                         "bytes in hex unless -o saves them")


def run(args) -> int:
    json_needs_stdout_free(args, args.output or "")
    if args.output:
        classify(args.output, reading=input_stat(args.file))  # refuse a bad OUT before the scan
    with open_image(args, args.file) as (source, fmt, _):
        found = find_pages(fmt, source, args.pfn, hints(args))
        read = source.stat()
    missing = [pfn for pfn, page in found.items() if page.data is None]
    for pfn, page in found.items():
        if page.data is not None:
            where = f" at offset {page.offset:#x}" if page.offset is not None else ""
            args.report.say(f"pfn {pfn:#x}: found by {page.how}{where} in {args.file} "
                            f"({fmt.name})")
    error = None
    if missing:
        error = FormatError(f"no data for pfn {_pfns(missing)} ({fmt.name}, "
                            f"{found[missing[0]].how})", file=args.file, field="pfn")
    dump = args.hex or (args.output is None and not args.json and sys.stdout.isatty())
    if args.output or (not dump and not args.json):
        if error is not None:
            raise error   # raw bytes with a page missing would put the next ones at its place
        _write(args.output or "-", args.io, [p.data for p in found.values()], read)
    if args.json:
        print_json({"file": args.file, "format": fmt.name, "output": args.output, "pages": [
            {"pfn": pfn, "found_by": page.how, "offset": page.offset,
             "data": page.data.hex() if page.data is not None and not args.output else None}
            for pfn, page in found.items()], "error": str(error) if error else None})
    elif dump:
        for pfn, page in found.items():
            if page.data is not None:
                print("\n".join(hexdump(page.data, pfn * PAGE_SIZE)))
    if error is not None:
        raise error
    return 0


def _write(path: str, io: str, pages: list[bytes], reading) -> None:
    """The pages, raw, to ``path`` (``-``: standard output), which must not be the input."""
    with open_sink(path, io if path != "-" else "buffered", reading=reading) as sink:
        for data in pages:
            sink.write(data)


def _pfns(pfns: list[int]) -> str:
    shown = ", ".join(f"{pfn:#x}" for pfn in pfns[:8])
    return shown + (f" and {len(pfns) - 8} more" if len(pfns) > 8 else "")


def hexdump(data: bytes, address: int = 0) -> list[str]:
    """``data`` as ``hexdump -C`` shows it: 16 bytes a line, an ASCII column, a run of lines
    equal to the one before folded into one ``*``, and the end address on the last line."""
    lines, previous, folded = [], None, False
    for at in range(0, len(data), 16):
        row = data[at:at + 16]
        if row == previous:
            if not folded:
                lines.append("*")
                folded = True
            continue
        previous, folded = row, False
        left, right = row[:8].hex(" "), row[8:].hex(" ")
        text = "".join(chr(b) if 0x20 <= b < 0x7f else "." for b in row)
        lines.append(f"{address + at:08x}  {left:<23}  {right:<23}  |{text}|")
    lines.append(f"{address + len(data):08x}")
    return lines
