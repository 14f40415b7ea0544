"""``python -m xcformat.bench.iocopy IN OUT --io MODE``: the I/O of a legacy → aligned
conversion without the formats, to measure the I/O layer alone on any file.

Reads the shape of legacy batches (a 4-byte count, 1024 8-byte pfns, 1024 pages: page data at
unaligned offsets) and writes the shape of aligned batches (the header padded to 4096, then the
pages): the same reads, copies and writes a real conversion makes, minus the parsing.
"""

from __future__ import annotations

import argparse

from ..io import IoMode, open_sink, open_source

BATCH = 1024
PAGE = 4096
HEADER = 4 + 8 * BATCH
PADDING = bytes(-HEADER % PAGE)


def copy(source, sink) -> None:
    while not source.at_eof():
        header = source.read_upto(HEADER)
        sink.write(header)
        sink.write(PADDING)
        sink.write(source.read_upto(BATCH * PAGE))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xcformat.bench.iocopy")
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--io", choices=[m.value for m in IoMode], default="auto")
    args = parser.parse_args(argv)
    with open_source(args.input, args.io) as source, open_sink(args.output, args.io) as sink:
        copy(source, sink)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
