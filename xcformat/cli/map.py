"""``xcformat map FILE``: where every structure of an image lies, with 4 KiB blocks marked."""

from __future__ import annotations

import json
import sys

from ..census import Census
from ..errors import EnvironmentProblem, FormatError, XcFormatError
from ..io import open_sink
from ..io.outputs import classify, input_stat
from ..layoutmap import LayoutMap, region_json, svg, text
from ..records import PAGE_SIZE
from .common import add_common_options, hints, offset, open_image, print_json


HELP = "show where each structure lies and whether page data is block-aligned"
DESCRIPTION = None


def add_arguments(parser) -> None:
    parser.add_argument("file", help="image to map (- for standard input)")
    parser.add_argument("--svg", metavar="OUT", help="also draw the map as an SVG picture")
    parser.add_argument("--all", action="store_true",
                        help="with --json: list every region, with no runs folded (output grows "
                             "with the image; memory does not)")
    parser.add_argument("--at", metavar="OFFSET", type=offset,
                        help="say which structure holds this byte offset (0x... allowed; it must "
                             "lie inside the file)")
    add_common_options(parser, json_help="print JSON for scripts: regions (offset, length, kind, "
                                         "label) and a summary")


def collect(args, layout: LayoutMap, census: Census
            ) -> tuple[str | None, int | None, XcFormatError | None]:
    """Read the whole image with region reporting on, counting its pages in ``census``.  An
    error — the image is not recognised (no format), breaks its format somewhere (the regions
    before are kept), or needs a hint the command line did not give — is returned rather than
    raised, so that JSON already streamed can still be closed."""
    fmt_name = size = None
    try:
        with open_image(args, args.file) as (source, fmt, _):
            fmt_name, size = fmt.name, source.size
            if args.at is not None and size is not None and args.at >= size:
                raise EnvironmentProblem(f"--at {args.at:#x}: past the end of {args.file}, "
                                         f"which has {size} ({size:#x}) bytes")
            reader = fmt.reader(source, hints(args))
            reader.on_region = layout.add
            for record in reader.records():
                census.see(record)
                if layout.found is not None:
                    break  # --at: the answer is known, the rest of the image need not be read
    except XcFormatError as exc:
        return fmt_name, size, exc
    return fmt_name, size, None


def run(args) -> int:
    streaming = args.json and args.all
    first = [True]

    def stream(region):
        sys.stdout.write(("\n  " if first[0] else ",\n  ") + json.dumps(region_json(region)))
        first[0] = False

    if args.svg:
        classify(args.svg, reading=input_stat(args.file))  # refuse a bad OUT before the work
    layout = LayoutMap(at=args.at, listener=stream if streaming else None)
    if streaming:
        sys.stdout.write('{"regions": [')
    census = Census()
    fmt_name, size, error = collect(args, layout, census)
    layout.finish(size)
    pages = _pages(layout, census) if error is None and args.at is None else None
    if error is not None and not args.json and (fmt_name is None
                                                or not isinstance(error, FormatError)):
        raise error  # not an image of any known format, or a hint missing: nothing to draw
    title = f"{args.file} ({fmt_name})"
    if args.svg:
        with open_sink(args.svg, "buffered", reading=input_stat(args.file)) as sink:
            sink.write(svg.render(layout, title).encode())
    if args.at is not None:
        print(_at(layout, args.at))
    elif streaming:
        tail = {"format": fmt_name, "size": size, "summary": layout.summary_json(),
                "guest_pages": pages, "error": str(error) if error else None}
        sys.stdout.write("\n]," + json.dumps(tail)[1:] + "\n")
    elif args.json:
        print_json({"file": args.file, "format": fmt_name, "size": size, **layout.as_json(),
                    "guest_pages": pages, "error": str(error) if error else None})
    else:
        print(text.render(layout, title))
        if pages is not None and pages["distinct"] != layout.summary.pages:
            print(_fillers(pages))
    if error is not None:
        print(f"xcformat: {error}", file=sys.stderr)
        return error.exit_code
    return 0


def _pages(layout: LayoutMap, census: Census) -> dict:
    """How the pages of the page-data regions relate to the guest's pages: an image may send a
    page more than once (a live save's later rounds; copies that fill an aligned v2 batch, as a
    restorer keeps the last copy), and hold page-sized slots that are no guest page (a dump's
    padding entries)."""
    return {"in_page_data": layout.summary.pages, "distinct": census.distinct.count(),
            "copies": census.page_records - (census.distinct.count() or 0),
            "not_guest_pages": layout.summary.pages - census.page_records}


def _fillers(pages: dict) -> str:
    parts = [f"{pages['distinct']} distinct guest pages"]
    if pages["copies"]:
        parts.append(f"{pages['copies']} copies of pages sent before (re-sent by a live save, "
                     "or filling an aligned batch; a restore keeps the last copy)")
    if pages["not_guest_pages"]:
        parts.append(f"{pages['not_guest_pages']} page slots that hold no guest page")
    return f"pages: {pages['in_page_data']} in page data = " + " + ".join(parts)


def _at(layout: LayoutMap, offset: int) -> str:
    region = layout.found
    if region is None:
        return f"{offset:#x}: no structure there (the regions end at {layout.summary.end:#x})"
    inside = offset - region.offset
    where = f"byte {inside:#x} of {region.length} from {region.offset:#x}"
    if region.kind == "page-data":
        where += f" (page {inside // PAGE_SIZE} of the run, byte {inside % PAGE_SIZE:#x} of it)"
    return f"{offset:#x}: {region.kind} {region.label!r}, {where}{text.alignment(region)}"
