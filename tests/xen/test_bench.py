"""The real-Xen bench without a VM: the dom0 script it writes, the watcher it runs in dom0 (on
this machine, against a real file), and the report it reads back from a job directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

from . import bench, benchpaths, benchreport
from .benchpaths import DISK, GUEST

HERE = Path(__file__).resolve().parent


def test_each_save_is_restored_before_the_next_and_each_kind_has_a_plain_row():
    steps = benchpaths.paths("aligned", "direct", probes=True, also_to=("v2",))
    names = [s.name for s in steps]
    for index, step in enumerate(steps):
        if step.guest_after == "gone":
            following = steps[index + 1]
            assert following.kind == "restore" and following.restores == step.output, names
    for kind in ("save", "restore", "dump"):
        assert [s.name for s in steps if s.plain and s.kind == kind], kind
    assert names.index("xl-save") < names.index("save-aligned-direct")
    assert "dump-save-core-direct" in names and "probe-xl-to-pipe" in names
    assert {"xcformat-save-direct", "xcformat-restore-direct", "xcformat-dump-direct"} <= set(names)


def test_the_script_drops_the_cache_before_each_step_and_stops_the_plain_dump():
    steps = benchpaths.paths("aligned", "direct", dump_limit=123)
    script = bench.script(steps, 256)
    assert script.count("echo 3 >/proc/sys/vm/drop_caches") == len(steps)
    assert "step xl-dump-core timeout 123 bash -o pipefail -c" in script
    for path in bench.STAGED:
        assert f"mount --bind /tmp/vdisk/stage{path} {path}" in script
    assert f"xl save {GUEST} /dev/stdout | /usr/bin/time" in script
    assert f"$XCFORMAT convert - {DISK}/guest.aligned --to aligned --io direct" in script
    assert f"$XCFORMAT save {GUEST} {DISK}/command.aligned --io direct" in script
    assert f"$XCFORMAT restore {DISK}/command.aligned --io direct" in script
    assert "{" + "xcformat}" not in script and "{file}" not in script
    profiled = bench.script(steps, 256, profile=True)
    assert "-m cProfile -o out/prof-save-aligned-direct.pstats -m xcformat convert" in profiled


def test_the_watcher_samples_meminfo_and_feels_its_working_set(tmp_path):
    working_set = tmp_path / "probe"
    working_set.write_bytes(os.urandom(1 << 20))
    watched = tmp_path / "images"
    watched.mkdir()
    (watched / "image").write_bytes(b"\1" * (256 << 10))  # just written: in the page cache
    out = tmp_path / "samples"
    watcher = subprocess.Popen([sys.executable, str(HERE / "dom0_watch.py"), str(out),
                                str(working_set), str(watched), "0.05"])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(out.read_text().splitlines()
                                                   if out.exists() else []) < 6:
            time.sleep(0.1)
    finally:
        watcher.send_signal(signal.SIGTERM)
        watcher.wait(timeout=30)
    samples = [benchreport.Sample.parse(line) for line in out.read_text().splitlines()
               if len(line.split()) == 9]
    assert len(samples) >= 6
    assert all(b.at > a.at for a, b in zip(samples, samples[1:]))
    assert all(s.cached > 0 and s.touch_ms >= 0 for s in samples)
    # The image's 256 KiB are counted, the working set (also in that cache) is not.
    assert samples[0].resident == 256, samples[0]


def _job(tmp_path: Path, steps: dict[str, tuple[int, float, float]], console: str) -> Path:
    job = tmp_path / "job"
    (job / "out").mkdir(parents=True)
    (job / "console").mkdir()
    (job / "steps").write_text("".join(f"{n} {rc} {a} {b}\n" for n, (rc, a, b) in steps.items()))
    (job / "console" / f"guest-{GUEST}.log").write_text(console)
    return job


def test_the_report_reads_growth_ratios_and_the_guest_from_a_job(tmp_path):
    steps = benchpaths.paths("aligned", "direct", dump_limit=100)
    md5 = "0123456789abcdef0123456789abcdef"
    before_restore = f"xcfguest pattern pages=1024 seed=5eed0b01 md5={md5}\nxcfguest tick 9\n"
    after_restore = ("xcfguest tick 10\nxcfguest tick 11\nxcfguest tick 12\nxcfguest tick 13\n"
                     "xcfguest tick 14\nxcfguest tick 15\n"
                     f"xcfguest pattern ok 15 {md5}\n")
    job = _job(tmp_path, {
        "xl-save": (0, 10.0, 50.0), "xl-restore": (0, 60.0, 80.0),
        "save-aligned-direct": (0, 100.0, 130.0), "restore-aligned-direct": (0, 140.0, 170.0),
        "xl-dump-core": (124, 200.0, 300.0), "dump-save-core-direct": (0, 310.0, 340.0),
    }, before_restore + after_restore)
    out = job / "out"
    (out / "ticks").write_text("xl-save 9\nsave-aligned-direct 9\n")
    (out / "marks").write_text(f"xl-restore {len(before_restore)}\n"
                               f"restore-aligned-direct {len(before_restore)}\n")
    (out / "time-xl-save-xl").write_text("39.9 1.5 20.5\n")
    (out / "time-save-aligned-direct-xcformat").write_text("29.0 14.0 8.0\n")
    lines = []
    for second in range(0, 345):
        # Cached less Shmem grows 100 MiB during the plain save, 10 MiB during the pipe.
        grow = 100 * 1024 * min(1, max(0, second - 10) / 40) if 10 <= second <= 50 else 0
        grow = 10 * 1024 if 100 < second <= 130 else grow
        lines.append(f"{second}.000 {50000 + int(grow) + 5000} 0 0 5000 200000 1.0 3 0\n")
    (out / "samples").write_text("".join(lines))
    report = benchreport.Report.load(job, steps, 256, 384)
    rows = {r.step.name: r for r in report.rows}
    assert rows["xl-save"].cache_growth_mib == pytest.approx(100, abs=1)
    assert rows["save-aligned-direct"].cache_growth_mib == pytest.approx(10, abs=1)
    assert rows["save-aligned-direct"].ratio == pytest.approx(0.75)
    assert rows["restore-aligned-direct"].ratio == pytest.approx(1.5)
    assert rows["restore-aligned-direct"].guest == "ran on"
    assert rows["save-aligned-direct"].cpu == {"xcformat": (14.0, 8.0)}
    assert rows["xl-dump-core"].stopped and rows["xl-dump-core"].cells()[1] == "> 100 (stopped)"
    assert rows["dump-save-core-direct"].ratio_text == "< 0.30"
    verdicts = "\n".join(report.verdicts())
    assert "save-aligned-direct: page cache +10 MiB (target ≤ +64: met); 0.75× plain xl save" in verdicts
    assert "restore-aligned-direct" in verdicts and "1.50× plain xl restore (target ≤ 1.25×: missed)" in verdicts
    assert report.complete is False  # the stopped dump-core counts as not complete
    assert "| xl-save | 40 |" in report.markdown()


def test_a_guest_that_booted_afresh_is_reported(tmp_path):
    steps = benchpaths.paths("aligned", "direct")[:2]
    job = _job(tmp_path, {"xl-save": (0, 1.0, 2.0), "xl-restore": (0, 3.0, 4.0)},
               "xcfguest pattern pages=1024 seed=5 md5=ab\nxcfguest tick 4\nxcfguest booted\n"
               "xcfguest tick 0\n")
    (job / "out" / "ticks").write_text("xl-save 4\n")
    (job / "out" / "marks").write_text("xl-restore 55\n")
    rows = benchreport.Report.load(job, steps, 256, 384).rows
    assert rows[1].guest == "the guest booted afresh instead of running on"


def test_the_staged_venv_has_xcformat_as_a_regular_install_would(tmp_path):
    bench._stage(tmp_path)
    site = tmp_path / Path(sysconfig.get_paths()["purelib"]).relative_to("/")
    assert (site / "xcformat-checkout.pth").read_text() == f"{bench.ROOT}\n"
    assert not list(site.glob("__editable__*"))
    assert list(Path(sysconfig.get_paths()["purelib"]).glob("__editable__*xcformat*"))
    done = subprocess.run([str(tmp_path / bench.PYTHON.relative_to("/")), "-c",
                           "import sys, xcformat; print('pathlib' in sys.modules)"],
                          capture_output=True, text=True)
    assert done.stdout == "False\n", done.stderr


def test_rounds_repeat_the_saves_and_restores_each_starting_one_pair_later():
    steps = benchpaths.paths("aligned", "direct", rounds=3)
    names = [s.name for s in steps]
    assert names[:6] == ["xl-save", "xl-restore", "save-aligned-direct", "restore-aligned-direct",
                         "xcformat-save-direct", "xcformat-restore-direct"]
    assert names[6:12] == ["save-aligned-direct.2", "restore-aligned-direct.2",
                           "xcformat-save-direct.2", "xcformat-restore-direct.2", "xl-save.2",
                           "xl-restore.2"]
    assert names[12:14] == ["xcformat-save-direct.3", "xcformat-restore-direct.3"]
    assert names.count("xl-dump-core") == 1 and len(names) == len(set(names)) == 21
    assert {s.path for s in steps if s.round == 3} == {s.path for s in steps if s.round == 1
                                                       and s.kind != "dump"}
    script = bench.script(steps, 256)
    assert "step xl-save.2 bash -o pipefail -c" in script and "out/time-xl-save.2-xl" in script


def test_each_round_is_compared_with_its_own_plain_xl_and_the_verdict_takes_the_median(tmp_path):
    steps = [s for s in benchpaths.paths("aligned", "direct", rounds=3)
             if s.path in ("xl-save", "save-aligned-direct")]
    # Plain xl takes 40, 20 and 30 s; the pipeline 30, 30 and 45 s: ratios 0.75, 1.5, 1.5.
    seconds = {"xl-save": 40, "save-aligned-direct": 30, "save-aligned-direct.2": 30,
               "xl-save.2": 20, "xl-save.3": 30, "save-aligned-direct.3": 45}
    timed, at = {}, 0.0
    for step in steps:
        timed[step.name] = (0, at, at + seconds[step.name])
        at += seconds[step.name] + 10
    job = _job(tmp_path, timed, "")
    (job / "out" / "samples").write_text("".join(
        f"{second}.000 {50000 + 5000} 0 0 5000 200000 1.0 3 0\n" for second in range(int(at))))
    report = benchreport.Report.load(job, steps, 256, 384)
    ratios = {r.step.name: r.ratio for r in report.rows if r.ratio is not None}
    assert ratios == pytest.approx({"save-aligned-direct": 0.75, "save-aligned-direct.2": 1.5,
                                    "save-aligned-direct.3": 1.5})
    assert report.verdicts() == [
        "save-aligned-direct: page cache worst +0 MiB (target ≤ +64: met); median 1.50× plain "
        "xl save over 3 rounds (0.75-1.50) (target ≤ 1.25×: missed)"]
    summary = {s.path: s.cells() for s in report.summaries()}
    assert summary["xl-save"][:3] == ["xl-save", "3 of 3", "30 (20-40)"]
    assert summary["save-aligned-direct"][3] == "1.50 (0.75-1.50)"
    assert "Over the 3 rounds:" in report.markdown()


def test_restore_marks_are_byte_offsets_into_a_console_of_cr_lf_lines(tmp_path):
    steps = benchpaths.paths("aligned", "direct")[:2]
    md5 = "0123456789abcdef0123456789abcdef"
    before = (f"xcfguest pattern pages=1024 seed=5 md5={md5}\r\n"
              + "".join(f"xcfguest tick {n}\r\n" for n in range(1, 41)))
    after = "xcfguest tick 41\r\nxcfguest tick 42\r\n" + f"xcfguest pattern ok 42 {md5}\r\n"
    job = _job(tmp_path, {"xl-save": (0, 1.0, 2.0), "xl-restore": (0, 3.0, 4.0)}, "")
    (job / "console" / f"guest-{GUEST}.log").write_bytes((before + after).encode())
    (job / "out" / "ticks").write_text("xl-save 40\n")
    (job / "out" / "marks").write_text(f"xl-restore {len(before.encode())}\n")
    rows = benchreport.Report.load(job, steps, 256, 384).rows
    assert rows[1].guest == "ran on"
