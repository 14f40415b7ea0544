"""The Xen project's own stream tools, the independent readers of the cross-checks.

``convert-legacy-stream`` (legacy -> v2) and ``verify-stream-v2`` are found, first match wins:

* ``XCFORMAT_XEN_TOOLS``: a Xen source tree's ``tools/python`` (``scripts/`` and ``xen/``);
* Debian's ``xen-utils-X.Y`` (``.ci/run`` installs it): ``/usr/lib/xen-X.Y/bin`` and the
  ``xen`` package under ``/usr/lib/xen-X.Y/lib/python``, newest release first.

Tests that need them skip, saying so, only when neither exists.

The tools run from a private copy with their known Python 3 defects fixed, one expression each
(:data:`PYTHON3_FIXES`; still present in Xen's master).  Nothing else of theirs changes: every
structural check they make still applies to what xcformat writes.
"""

from __future__ import annotations

import atexit
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

SCRIPTS = ("convert-legacy-stream", "verify-stream-v2")
DEBIAN = Path("/usr/lib")

#: (file in the copy, expression, its fix).  Each breaks Python 3 only, for every input:
PYTHON3_FIXES = (
    # xen/migration/xl.py compares the file's bytes with a str magic: no xl file ever matches.
    ("xen/migration/xl.py", 'MAGIC = "Xen saved domain, xl format\\n \\0 \\r"',
     'MAGIC = b"Xen saved domain, xl format\\n \\0 \\r"'),
    # verify-stream-v2's EMULATOR_XENSTORE_DATA check compares a byte (an int in Python 3) with
    # '\0', so it rejects every such record ("Data not NUL terminated"), Xen's own converter's
    # included; then it splits bytes by a str.
    ("xen/migration/libxl.py", "if content[-1] != '\\x00':", "if content[-1:] != b'\\x00':"),
    ("xen/migration/libxl.py", 'parts = content[:-1].split("\\x00")',
     'parts = content[:-1].decode("ascii").split("\\x00")'),
)


@dataclass(frozen=True)
class Installation:
    """Where the scripts and the ``xen`` Python package of one Xen release are."""

    scripts: Path
    python: Path
    origin: str


def _release(path: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path.name))


def locate() -> Installation | None:
    tree = os.environ.get("XCFORMAT_XEN_TOOLS")
    if tree:
        return Installation(Path(tree) / "scripts", Path(tree), f"XCFORMAT_XEN_TOOLS={tree}")
    for lib in sorted(DEBIAN.glob("xen-[0-9]*"), key=_release, reverse=True):
        bin_dir, python = lib / "bin", lib / "lib" / "python"
        if all((bin_dir / s).is_file() for s in SCRIPTS) and (python / "xen" / "migration").is_dir():
            return Installation(bin_dir, python, f"Debian xen-utils-{lib.name[4:]}")
    return None


FOUND = locate()
#: Marks a test (or, as ``pytestmark``, a module) that runs the Xen tools.
needs_xen_tools = pytest.mark.skipif(
    FOUND is None, reason="Xen's convert-legacy-stream/verify-stream-v2 not found: install "
                          "Debian's xen-utils-4.17 or set XCFORMAT_XEN_TOOLS to a Xen tree's "
                          "tools/python")


def _apply(root: Path) -> None:
    for name, old, new in PYTHON3_FIXES:
        path = root / name
        text = path.read_text()
        if old in text:
            path.write_text(text.replace(old, new))
        elif new not in text:
            raise RuntimeError(f"{FOUND.origin}: {name} no longer holds {old!r}; "
                               "review tests/xen_tools.py PYTHON3_FIXES")


@functools.cache
def _copy() -> Path:
    if FOUND is None:
        pytest.skip(needs_xen_tools.kwargs["reason"])
    root = Path(tempfile.mkdtemp(prefix="xcformat-xen-tools-"))
    atexit.register(shutil.rmtree, root, True)
    shutil.copytree(FOUND.python / "xen", root / "xen",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (root / "scripts").mkdir()
    for script in SCRIPTS:
        shutil.copy(FOUND.scripts / script, root / "scripts" / script)
    _apply(root)
    return root


def _run(scripts: Path, python: Path, script: str, args, timeout: float):
    return subprocess.run([sys.executable, str(scripts / script), *map(str, args)],
                          env=dict(os.environ, PYTHONPATH=str(python)), capture_output=True,
                          text=True, timeout=timeout)


def run_xen(script: str, *args, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run one of :data:`SCRIPTS` on ``args`` (paths are converted); text output captured."""
    root = _copy()
    return _run(root / "scripts", root, script, args, timeout)


def run_xen_as_shipped(script: str, *args, timeout: float = 120) -> subprocess.CompletedProcess:
    """:func:`run_xen` without :data:`PYTHON3_FIXES`, to show what each one is for."""
    if FOUND is None:
        pytest.skip(needs_xen_tools.kwargs["reason"])
    return _run(FOUND.scripts, FOUND.python, script, args, timeout)
