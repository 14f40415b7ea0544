"""Truncated and bit-flipped images of every format, through every command of the real CLI.

Each run must end with exit code 0, 1 or 2 within the time guard, with no traceback; a failed
convert leaves nothing at OUT, and every error message names the input file.  Seeded, so a
failure reproduces; ``XCFORMAT_HOSTILE_CASES`` raises the count for longer hunts.
"""

from __future__ import annotations

import os
import random

import pytest

from xcformat import synth

from .cli_runner import xcformat

CASES = int(os.environ.get("XCFORMAT_HOSTILE_CASES", "5"))
TARGETS = ("legacy", "aligned", "v2", "core")
#: format name -> (spec, convert options that make it); each built from the same legacy image.
SOURCES = {
    "legacy": (synth.GuestSpec(pages=16, vcpus=2, xsave=True, wrapper="xl"), None),
    "legacy-hvm": (synth.GuestSpec(guest="hvm", pages=16), None),
    "aligned": (synth.GuestSpec(pages=16, vcpus=2), ["--to", "aligned"]),
    "v2": (synth.GuestSpec(pages=16, vcpus=2, xsave=True), ["--to", "v2"]),
    "v2-align": (synth.GuestSpec(pages=16), ["--to", "v2", "--align"]),
    "v2-libxl-hvm": (synth.GuestSpec(guest="hvm", pages=16), ["--to", "v2", "--wrap", "libxl"]),
    "core-pv": (synth.GuestSpec(pages=16, vcpus=2), ["--to", "core"]),
    "core-hvm": (synth.GuestSpec(guest="hvm", pages=16), ["--to", "core"]),
}


@pytest.fixture(scope="module", params=sorted(SOURCES))
def valid_image(request, tmp_path_factory) -> bytes:
    spec, options = SOURCES[request.param]
    folder = tmp_path_factory.mktemp(request.param)
    legacy = folder / "in.legacy"
    synth.write_legacy(spec, legacy)
    if options is None:
        return legacy.read_bytes()
    out = folder / "image"
    result = xcformat("convert", legacy, out, "--no-progress", *options)
    assert result.code == 0, result.stderr
    return out.read_bytes()


def hostile_variants(data: bytes, seed: int):
    """Truncations at seeded points (a few near the start) and seeded bit flips."""
    rng = random.Random(seed)
    cuts = sorted({0, 1, 7, *(rng.randrange(len(data)) for _ in range(CASES))})
    for cut in cuts:
        yield f"cut@{cut:#x}", data[:cut]
    for case in range(CASES):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            # Headers are where a flip changes the meaning; page data is just data.
            span = len(data) if rng.random() < 0.3 else min(len(data), 8192)
            mutated[rng.randrange(span)] ^= 1 << rng.randrange(8)
        yield f"flip#{case}", bytes(mutated)


def commands(path, out):
    yield ("info", path)
    yield ("info", path, "--json")
    yield ("validate", path, "--json")
    yield ("map", path, "--json")
    yield ("page", path, "--pfn", "0", "-o", out)
    for target in TARGETS:
        yield ("convert", path, out, "--to", target, "--no-progress")


def test_hostile_input_fails_cleanly_everywhere(valid_image, tmp_path):
    path, out = tmp_path / "hostile.img", tmp_path / "out"
    problems = []
    for label, blob in hostile_variants(valid_image, seed=len(valid_image)):
        path.write_bytes(blob)
        for argv in commands(path, out):
            out.unlink(missing_ok=True)
            result = xcformat(*argv, timeout=20)
            said = []
            if result.code not in (0, 1, 2):
                said.append(f"exit {result.code}")
            if "Traceback" in result.output:
                said.append("traceback")
            if argv[0] in ("convert", "page") and result.code != 0 and out.exists():
                said.append("left a file at OUT")
            if result.code in (1, 2) and str(path) not in result.output:
                said.append("error does not name the file")
            if said:
                problems.append(f"{label} {' '.join(map(str, argv[:1] + argv[2:]))}: "
                                f"{', '.join(said)}: {result.output.strip()[-300:]}")
    assert not problems, "\n".join(problems)
