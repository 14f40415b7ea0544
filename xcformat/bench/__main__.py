"""``tools/bench``: run the benchmark and print (or write into the docs) its table."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile

from . import cases, image, machine, measure, report


def size_arg(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper().removesuffix("IB").removesuffix("B")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/bench", description=__doc__)
    parser.add_argument("--size", type=size_arg, default=1 << 30,
                        help="input image size (default 1G; K/M/G suffixes)")
    parser.add_argument("--dir", default="/var/tmp",
                        help="directory for the input and output files (default /var/tmp)")
    parser.add_argument("--runs", type=int, default=1,
                        help="runs per command; the table shows the median time and the "
                             "largest cache growth and RSS (default 1)")
    parser.add_argument("--only", default="",
                        help="run only the commands whose label contains this text")
    parser.add_argument("--note", action="append", default=[],
                        help="a note for the report (e.g. 'machine busy with other jobs')")
    parser.add_argument("--no-drop", action="store_true",
                        help="keep the page cache between runs (smoke tests only: the "
                             "numbers are then not from a cold cache)")
    parser.add_argument("--write-docs", action="store_true",
                        help="also write the results to docs/benchmarks.rst")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(dir=args.dir, prefix="xcformat-bench-") as work:
        inp, out = os.path.join(work, "in.img"), os.path.join(work, "out.img")
        print(f"bench: making a {args.size} byte input in {work}", file=sys.stderr)
        legacy = image.make_legacy(inp, args.size)
        if not legacy:
            image.make_raw(inp, args.size)
        size = os.path.getsize(inp)
        todo, notes = cases.build(inp, out, legacy=legacy,
                                  xen_tools=os.environ.get("XCFORMAT_XEN_TOOLS"))
        todo = [c for c in todo if args.only in c.label]
        notes += args.note
        rows = []
        for case in todo:
            runs = []
            for _ in range(args.runs):
                if os.path.exists(out):
                    os.unlink(out)
                problem = ("page cache kept between runs (--no-drop)" if args.no_drop
                           else measure.drop_caches([inp]))
                if problem and problem not in notes:
                    notes.append(problem)
                measure.warm_up()
                runs.append(measure.run(case.argv, case.env, (inp, out)))
            rows.append(report.Row(case, runs))
            print(f"bench: {' | '.join(rows[-1].cells(size))}", file=sys.stderr)
        facts = machine.facts(work)
    print(report.markdown(facts, size, notes, rows))
    if args.write_docs:
        command = "tools/bench " + shlex.join(argv if argv is not None else sys.argv[1:])
        with open(os.path.join("docs", "benchmarks.rst"), "w", encoding="utf-8") as page:
            page.write(report.rst(facts, size, notes, rows, command.strip()))
        print("bench: wrote docs/benchmarks.rst", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
