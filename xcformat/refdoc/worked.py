"""The worked example of a stream-order overview: where ``xcformat map`` finds each part of a
small synthetic image of the format.

The image comes from :mod:`xcformat.synth` (a legacy save image), converted with the
``xcformat convert`` command where the format is another one; the regions are those
``xcformat map --json`` reports.  So the example shows what xcformat really writes and reads.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass

from ..schema import Sample


@dataclass(frozen=True)
class Region:
    offset: int
    length: int
    kind: str
    label: str


def describe(sample: Sample) -> str:
    """The sample in words (markup: single-backtick code spans)."""
    wrapper = f" in an {sample.wrapper} save file" if sample.wrapper else ""
    text = (f"A {sample.guest.upper()} guest of {sample.pages} pages, saved by the 64-bit tools "
            f"of Xen 4.5{wrapper} (written by `xcformat.synth`)")
    if sample.convert:
        text += f", then converted with `xcformat convert IN OUT {' '.join(sample.convert)}`"
    return text + ", as `xcformat map --json` reports it:"


@functools.lru_cache(maxsize=None)
def regions(sample: Sample) -> tuple[Region, ...]:
    """The regions of the sample image, runs of alike units folded as ``xcformat map`` does."""
    from ..synth import GuestSpec, write_legacy

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "sample.img")
        write_legacy(GuestSpec(guest=sample.guest, pages=sample.pages, wrapper=sample.wrapper),
                     path)
        if sample.convert:
            converted = os.path.join(tmp, "sample.out")
            _xcformat("convert", path, converted, *sample.convert, "--no-progress")
            path = converted
        found = json.loads(_xcformat("map", path, "--json"))
    return tuple(Region(r["offset"], r["length"], r["kind"], r["label"])
                 for r in found["regions"])


def _xcformat(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "xcformat", *args], capture_output=True,
                            text=True, env={**os.environ, "COLUMNS": "100"})
    if result.returncode:
        raise RuntimeError(f"xcformat {' '.join(args)} failed ({result.returncode}): "
                           f"{result.stderr.strip()}")
    return result.stdout
