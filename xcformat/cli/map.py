"""``xcformat map FILE``: where every structure of an image lies, with 4 KiB blocks marked."""

from __future__ import annotations

import json
import sys

from ..errors import FormatError
from ..io import open_sink
from ..layoutmap import LayoutMap, region_json, svg, text
from .common import add_input_options, hints, open_image, print_json


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "map", help="show where each structure lies and whether page data is block-aligned")
    parser.add_argument("file", help="image to map (- for standard input)")
    parser.add_argument("--json", action="store_true",
                        help="print JSON for scripts: regions (offset, length, kind, label) and a "
                             "summary")
    parser.add_argument("--svg", metavar="OUT", help="also draw the map as an SVG picture")
    parser.add_argument("--all", action="store_true",
                        help="with --json: list every region, with no runs folded (output grows "
                             "with the image; memory does not)")
    parser.add_argument("--at", metavar="OFFSET", type=lambda s: int(s, 0),
                        help="say which structure holds this byte offset (0x... allowed)")
    add_input_options(parser)
    parser.set_defaults(run=run)


def collect(args, layout: LayoutMap, on_region=None) -> tuple[str, int | None, FormatError | None]:
    """Read the whole image with region reporting on; a format error ends the map early (the
    regions before it are kept) and is returned rather than raised."""
    with open_image(args, args.file) as (source, fmt, _):
        reader = fmt.reader(source, hints(args))

        def report(region):
            layout.add(region)
            if on_region is not None:
                on_region(region)

        reader.on_region = report
        try:
            for _ in reader.records():
                pass
        except FormatError as exc:
            return fmt.name, source.size, exc
        return fmt.name, source.size, None


def run(args) -> int:
    layout = LayoutMap(at=args.at)
    streaming = args.json and args.all
    if streaming:
        sys.stdout.write('{"regions": [')
        first = [True]

        def stream(region):
            sys.stdout.write(("\n  " if first[0] else ",\n  ") + json.dumps(region_json(region)))
            first[0] = False

        fmt_name, size, error = collect(args, layout, stream)
    else:
        fmt_name, size, error = collect(args, layout)
    layout.finish(size)
    title = f"{args.file} ({fmt_name})"
    if args.svg:
        with open_sink(args.svg, "buffered") as sink:
            sink.write(svg.render(layout, title).encode())
    if args.at is not None:
        print(_at(layout, args.at))
    elif streaming:
        tail = {"format": fmt_name, "size": size, "summary": layout.summary_json(),
                "error": str(error) if error else None}
        sys.stdout.write("\n]," + json.dumps(tail)[1:] + "\n")
    elif args.json:
        print_json({"file": args.file, "format": fmt_name, "size": size, **layout.as_json(),
                    "error": str(error) if error else None})
    else:
        print(text.render(layout, title))
    if error is not None:
        print(f"xcformat: {error}", file=sys.stderr)
        return 1
    return 0


def _at(layout: LayoutMap, offset: int) -> str:
    region = layout.found
    if region is None:
        return f"{offset:#x}: no structure there (the regions end at {layout.summary.end:#x})"
    return (f"{offset:#x}: {region.kind} {region.label!r}, byte {offset - region.offset:#x} of "
            f"{region.length} from {region.offset:#x}{text.alignment(region)}")
