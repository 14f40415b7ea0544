"""``xcformat page FILE --pfn N [-o OUT]``: one guest page, by pfn.

Formats with random access (aligned's index) answer with two small reads; the others are
scanned, and the latest copy of the page wins.
"""

from __future__ import annotations

import sys

from ..errors import FormatError
from ..io import open_sink
from ..io.outputs import classify, input_stat
from ..pagefind import find_page
from .common import add_input_options, hints, open_image


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("page", help="extract one guest page by pfn")
    parser.add_argument("file", help="image to read (- for standard input)")
    parser.add_argument("--pfn", required=True, type=lambda text: int(text, 0),
                        help="guest pfn (decimal, or 0x... hex)")
    parser.add_argument("-o", "--output", metavar="OUT",
                        help="write the 4096 bytes here (default: standard output; a hex dump "
                             "on a terminal)")
    add_input_options(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    if args.output:
        classify(args.output, reading=input_stat(args.file))  # refuse a bad OUT before the scan
    with open_image(args, args.file) as (source, fmt, _):
        found = find_page(fmt, source, args.pfn, hints(args))
        read = source.stat()
    if found.data is None:
        raise FormatError(f"no data for pfn {args.pfn:#x} ({fmt.name}, {found.how})",
                          file=args.file, field="pfn")
    where = f" at offset {found.offset:#x}" if found.offset is not None else ""
    print(f"xcformat: pfn {args.pfn:#x}: found by {found.how}{where} in {args.file} "
          f"({fmt.name})", file=sys.stderr)
    if not args.output and sys.stdout.isatty():
        for at in range(0, len(found.data), 16):
            row = found.data[at:at + 16]
            print(f"{at:04x}  {row.hex(' ')}")
        return 0
    with open_sink(args.output or "-", args.io if args.output else "buffered",
                   reading=read) as sink:
        sink.write(found.data)
    return 0
