"""The input image of a benchmark run: a synthetic legacy save image from :mod:`xcformat.synth`
when that package is present, else a same-sized file of repeatable pseudo-random bytes (enough
for the rows that only move bytes: dd, cp and the I/O-layer copy)."""

from __future__ import annotations

import os
import random

PAGE = 4096


def make_legacy(path: str, size: int) -> bool:
    """Write a synthetic legacy image of about ``size`` bytes; False if synth is unavailable."""
    try:
        from ..synth.spec import GuestSpec
        from ..synth.writer import write_legacy
    except ImportError:
        return False
    write_legacy(GuestSpec(guest="pv", toolstack_bits=64, pages=size // PAGE), path)
    return True


def make_raw(path: str, size: int, seed: int = 0) -> None:
    block = random.Random(seed).randbytes(1 << 20)
    with open(path, "wb") as out:
        left = size
        while left:
            step = min(left, len(block))
            out.write(block[:step])
            left -= step
        out.flush()
        os.fsync(out.fileno())
