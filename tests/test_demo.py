"""``./tools/demo``: the operator's walk-through passes, prints short paths, and names the step
that fails."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parent.parent / "tools" / "demo"
pytestmark = pytest.mark.slow


def demo(env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(DEMO)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def test_the_demo_passes_and_speaks_with_short_paths():
    done = demo()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout + done.stderr
    assert "demo: done: every step passed" in out
    assert "xl restore guest-4.19.xl" in out and "--drop unmapped-pfns loses" in out
    assert re.search(r"wrote guest-4\.19\.xl \(v2\b.*\) from guest-4\.5\.xl \(legacy\)", out)
    assert "received received.img (aligned" in out
    work = out.split("in a scratch directory (")[1].split(")")[0]
    assert out.count(work) == 1           # named once; every other path is relative to it
    assert not os.path.exists(work)       # and removed


def test_a_failing_step_is_named_and_fails_the_demo(tmp_path):
    fake = tmp_path / "cmp"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    done = demo({"PATH": f"{tmp_path}:{os.environ['PATH']}"})
    assert done.returncode != 0
    assert "demo: FAILED (exit 1) at: the received page 1 is the page sent" in done.stderr
