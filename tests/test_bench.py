"""tools/bench runs end to end at a tiny size and reports every mode; its verdicts follow the
targets.  (No timings are asserted: benchmarks are not tests.)"""

import os

from xcformat.bench import __main__ as bench
from xcformat.bench.cases import Case
from xcformat.bench.measure import Measurement
from xcformat.bench.report import Row, verdicts

MIB = 1 << 20


def test_bench_runs_every_io_mode_and_writes_the_docs_page(tmp_path, monkeypatch, capsys):
    (tmp_path / "docs").mkdir()
    monkeypatch.chdir(tmp_path)
    assert bench.main(["--size", "3M", "--dir", str(tmp_path), "--only", "I/O layer",
                       "--no-drop", "--write-docs"]) == 0
    table = capsys.readouterr().out
    rows = [line for line in table.splitlines() if line.startswith("| I/O layer")]
    assert [row.split(" | ")[1] for row in rows] == ["direct", "uncached", "fadvise",
                                                     "buffered", "auto"]
    assert all(row.endswith("| ok |") for row in rows)
    page = (tmp_path / "docs" / "bench" / "3m.inc").read_text()
    assert ".. list-table::" in page and "kernel: " in page and "--no-drop" in page
    assert [p for p in os.listdir(tmp_path) if p.startswith("xcformat-bench-")] == []


def row(label, io, seconds, cache=0, rss=50 * MIB):
    return Row(Case(label, io, []), [Measurement(seconds, rss, 3 * cache, 0, "", cache)])


def test_verdicts_compare_direct_rows_with_dd_and_the_limits():
    lines = verdicts([row("dd iflag=direct", "-", 2.0),
                      row("xcformat convert --to aligned", "direct", 2.4, cache=10 * MIB),
                      row("xcformat validate", "direct", 1.0, cache=65 * MIB, rss=101 * MIB)])
    assert lines[0].startswith("xcformat convert --to aligned --io direct: 1.20× dd's time")
    assert "(target ≤ 1.25×: met)" in lines[0]
    assert "cache ≤ 10 MiB (target ≤ 64: met; machine-wide growth 30 MiB" in lines[0]
    assert "dd" not in lines[1]
    assert "(target ≤ 64: missed;" in lines[1] and "101 MiB (target ≤ 100: missed)" in lines[1]


def test_the_xen_converter_runs_only_where_its_tools_are_found(tmp_path, monkeypatch):
    from xcformat.bench import cases
    from xcformat.bench.cases import build

    monkeypatch.setattr(cases.glob, "glob", lambda pattern: [])
    without, notes = build("in", "out", legacy=True, xen_tools=None)
    assert not any("Xen" in c.label for c in without)
    assert any("convert-legacy-stream not run" in n for n in notes)
    for release in ("xen-4.9", "xen-4.17"):
        (tmp_path / release / "bin").mkdir(parents=True)
        (tmp_path / release / "bin" / "convert-legacy-stream").touch()
    monkeypatch.setattr(cases.glob, "glob", lambda pattern: [f"{tmp_path}/xen-4.9/",
                                                             f"{tmp_path}/xen-4.17/"])
    debian, _ = build("in", "out", legacy=True, xen_tools=None)
    xen = [c for c in debian if "Xen" in c.label]
    assert xen[0].argv[1] == f"{tmp_path}/xen-4.17/bin/convert-legacy-stream"
    assert xen[0].env["PYTHONPATH"] == f"{tmp_path}/xen-4.17/lib/python"
    with_tools, _ = build("in", "out", legacy=True, xen_tools="/xen/tools/python")
    xen = [c for c in with_tools if "Xen" in c.label]
    assert len(xen) == 1 and xen[0].env["PYTHONPATH"] == "/xen/tools/python"
    assert xen[0].argv[1:] == ["/xen/tools/python/scripts/convert-legacy-stream", "-i", "in",
                               "-o", "out", "-w", "64", "-g", "pv"]
    assert [c.io for c in with_tools if c.label == "xcformat validate"] == ["direct"]
