"""The commands a benchmark run compares, each reading IN (and most writing OUT)."""

from __future__ import annotations

import glob
import os
import re
import sys
from dataclasses import dataclass, field

from .. import formats
from ..io import IoMode

IO_MODES = [m.value for m in IoMode if m is not IoMode.AUTO] + [IoMode.AUTO.value]
#: Targets that get every mode; the others run with direct I/O and the default (auto).
EVERY_MODE = ("aligned",)
ALSO = ("v2", "legacy", "core")
ALSO_MODES = (IoMode.DIRECT.value, IoMode.AUTO.value)


@dataclass
class Case:
    label: str
    io: str
    argv: list[str]
    env: dict[str, str] | None = field(default=None, repr=False)


def _xcformat(*args: str) -> list[str]:
    return [sys.executable, "-m", "xcformat", *args]


def _writable() -> dict[str, formats.Format]:
    return {name: fmt for name, fmt in formats.registry().items() if fmt.writer is not None}


def build(inp: str, out: str, *, legacy: bool, xen_tools: str | None) -> tuple[list[Case],
                                                                               list[str]]:
    """The cases for this input, and notes on what could not run and why."""
    cases = [Case("dd iflag=direct oflag=direct bs=4M", "-",
                  ["dd", f"if={inp}", f"of={out}", "iflag=direct", "oflag=direct", "bs=4M",
                   "status=none"]),
             Case("cp", "-", ["cp", inp, out])]
    cases += [Case("I/O layer copy (legacy-shaped reads, aligned-shaped writes)", mode,
                   [sys.executable, "-m", "xcformat.bench.iocopy", inp, out, "--io", mode])
              for mode in IO_MODES]
    notes = []
    writable = _writable()
    if not legacy:
        notes.append("no synthetic legacy image (xcformat.synth not available): conversion, "
                     "validation and Xen converter rows skipped; the input is pseudo-random "
                     "bytes of the same size")
        return cases, notes
    for target in EVERY_MODE + ALSO:
        if target not in writable:
            notes.append(f"format {target!r} cannot be written yet: its rows are skipped")
            continue
        for mode in IO_MODES if target in EVERY_MODE else ALSO_MODES:
            cases.append(Case(f"xcformat convert --to {target}", mode,
                              _xcformat("convert", inp, out, "--to", target, "--io", mode,
                                        "--no-progress")))
    cases.append(Case("xcformat validate", "direct", _xcformat("validate", inp, "--io",
                                                                "direct")))
    converter = xen_converter(xen_tools)
    if converter:
        script, python_path = converter
        env = dict(os.environ, PYTHONPATH=python_path)
        cases.append(Case("Xen convert-legacy-stream (legacy → v2)", "-",
                          ["python3", script, "-i", inp, "-o", out, "-w", "64", "-g", "pv"],
                          env))
    else:
        notes.append("no Xen tools (XCFORMAT_XEN_TOOLS or Debian's xen-utils): Xen's "
                     "convert-legacy-stream not run")
    return cases, notes


def xen_converter(tree: str | None) -> tuple[str, str] | None:
    """Xen's ``convert-legacy-stream`` and the directory its ``xen`` package is in: from a Xen
    source tree's ``tools/python`` when given, else from the newest Debian ``xen-utils-X.Y``."""
    if tree:
        return os.path.join(tree, "scripts", "convert-legacy-stream"), tree
    releases = glob.glob("/usr/lib/xen-*/")
    for lib in sorted(releases, reverse=True,
                      key=lambda path: [int(n) for n in re.findall(r"\d+", path)]):
        script = os.path.join(lib, "bin", "convert-legacy-stream")
        if os.path.exists(script):
            return script, os.path.join(lib, "lib", "python")
    return None
