"""Running libkdumpfile on a dump: Debian's python3-libkdumpfile is built for the system Python,
so it runs there, in a subprocess (libkdumpfile 0.5.1 segfaults on EM_386 dumps)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
SYSTEM_PYTHON = "/usr/bin/python3"
DEBIAN_MODULES = {**os.environ, "PYTHONPATH": "/usr/lib/python3/dist-packages"}


def _kdumpfile_python() -> str | None:
    for python in (SYSTEM_PYTHON, sys.executable):
        if not os.path.exists(python):
            continue
        probe = subprocess.run([python, "-c", "import kdumpfile"], capture_output=True,
                               env=DEBIAN_MODULES)
        if probe.returncode == 0:
            return python
    return None


KDUMP_PYTHON = _kdumpfile_python()
needs_kdumpfile = pytest.mark.skipif(KDUMP_PYTHON is None,
                                     reason="python3-libkdumpfile is not installed")


def kdumpfile_view(path, pfns, gmfns=()):
    """What libkdumpfile reads from ``path``: format, registers, page hashes (kdumpfile_check)."""
    out = subprocess.run(
        [KDUMP_PYTHON, str(HERE / "kdumpfile_check.py"), str(path),
         ",".join(map(str, pfns)), ",".join(map(str, gmfns))],
        capture_output=True, text=True, timeout=60, env=DEBIAN_MODULES)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


