"""The fuzz audit: a few dozen real runs find nothing, and each kind of failure is recognised."""

import sys

import pytest

from xcformat.testing import audit
from xcformat.testing.audit.limited import run_limited
from xcformat.testing.audit.mutants import mutant
from xcformat.testing.audit.runner import _verdict

#: One sample per format, kept small so that the audit below takes seconds.
SAMPLES = ["legacy-4.5-pv-xl", "legacy-3.1-hvm", "v2-hvm-libxl", "aligned-pv", "core-hvm"]


def _python(code: str, **limits):
    return run_limited([sys.executable, "-c", code], **{"memory": 1 << 30, "timeout": 20,
                                                        **limits})


def test_a_small_audit_over_every_format_and_command_finds_nothing():
    tally = audit.audit(seed=14, runs=40, samples=SAMPLES)
    assert tally.runs >= 40 and tally.mutants >= 2
    assert set(tally.rows) >= {c.name for c in audit.COMMANDS}
    assert not tally.findings, tally.describe(14)
    assert tally.total().max_rss < 1 << 30


@pytest.mark.parametrize("code, verdict", [
    ("bytearray(2 << 30)", "memory"),
    ("import time; time.sleep(30)", "timeout"),
    ("raise ValueError('boom')", "traceback"),
    ("import os; os._exit(3)", "bad-exit"),
    ("import sys; sys.exit(1)", "ok"),
])
def test_each_failure_of_a_run_gets_its_verdict(code, verdict):
    outcome = _python(code, timeout=2 if verdict == "timeout" else 20)
    assert _verdict(outcome) == verdict


def test_a_run_measures_its_peak_memory_and_time():
    outcome = _python("x = bytearray(200 << 20); x[::4096] = b'1' * len(x[::4096])")
    assert outcome.code == 0 and outcome.max_rss > 200 << 20 and outcome.seconds < 20


def test_a_run_reads_standard_input_through_a_pipe():
    outcome = run_limited([sys.executable, "-c", "import os, stat, sys; "
                           "print(stat.S_ISFIFO(os.fstat(0).st_mode), len(sys.stdin.buffer.read()))"],
                          memory=1 << 30, timeout=20, stdin=b"x" * 300_000)
    assert outcome.stdout.split() == [b"True", b"300000"]


def test_a_case_is_the_same_mutant_every_time(tmp_path):
    samples = audit.build_samples(tmp_path, SAMPLES[:2])
    first, again = mutant(3, 5, samples), mutant(3, 5, samples)
    assert first.data == again.data and first.label == again.label
    assert first.data != first.sample.data
    families = {mutant(3, case, samples).family for case in range(8)}
    assert families == {"random", "field", "truncate", "splice"}


def test_the_command_line_prints_a_table_and_exits_0_when_nothing_was_found(tmp_path, capsys):
    from xcformat.testing.audit.__main__ import main
    assert main(["--runs", "3", "--samples", "aligned-pv", "--commands", "info,validate",
                 "--keep", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "0 findings" in out and "validate" in out and "total" in out
