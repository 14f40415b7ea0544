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
                        help="rounds of all commands in turn; the table shows each "
                             "command's median time and largest cache growth and RSS "
                             "(default 1)")
    parser.add_argument("--only", default="",
                        help="run only the commands whose label contains one of these "
                             "comma-separated texts")
    parser.add_argument("--modes", default=",".join(cases.IO_MODES),
                        help="the --io modes to run (comma-separated; default all)")
    parser.add_argument("--note", action="append", default=[],
                        help="a note for the report (e.g. 'machine busy with other jobs')")
    parser.add_argument("--no-drop", action="store_true",
                        help="keep the page cache between runs (smoke tests only: the "
                             "numbers are then not from a cold cache)")
    parser.add_argument("--write-docs", action="store_true",
                        help="also write the results to docs/bench/SIZE.inc, which "
                             "docs/benchmarks.rst includes")
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
        wanted = args.only.split(",")
        modes = args.modes.split(",")
        todo = [c for c in todo if any(text in c.label for text in wanted)
                and c.io in modes + ["-"]]
        notes += args.note
        rows = [report.Row(case, []) for case in todo]
        # Rounds of every command in turn, so that load from elsewhere falls on all alike.
        for round_ in range(args.runs):
            for row in rows:
                if os.path.exists(out):
                    os.unlink(out)
                problem = ("page cache kept between runs (--no-drop)" if args.no_drop
                           else measure.drop_caches([inp]))
                if problem and problem not in notes:
                    notes.append(problem)
                env = measure.child_env(row.case.env, os.path.join(work, "pycache"))
                measure.warm_up(env)
                row.runs.append(measure.run(row.case.argv, env, (inp, out)))
                print(f"bench: round {round_ + 1}: {' | '.join(row.cells(size))}",
                      file=sys.stderr)
        facts = machine.facts(work)
    print(report.markdown(facts, size, notes, rows))
    if args.write_docs:
        command = "tools/bench " + shlex.join(argv if argv is not None else sys.argv[1:])
        name = report.size_name(args.size).replace(" GiB", "g").replace(" MiB", "m")
        target = os.path.join("docs", "bench", f"{name}.inc")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8") as page:
            page.write(report.rst(facts, args.size, size, notes, rows, command.strip()))
        print(f"bench: wrote {target} (docs/benchmarks.rst includes it)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
