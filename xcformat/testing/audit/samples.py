"""The valid images an audit mutates: every format, and the variants that read differently.

Legacy images come from :mod:`xcformat.synth`; v2 streams from :func:`~xcformat.testing.v2_bytes`;
aligned files and core dumps from ``xcformat convert`` of synthetic legacy guests (the way users
make them).  Each sample keeps where its structures lie, so that edits can aim at fields, and a
pfn it holds, for ``page``.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

from ...formats import SNIFF_BYTES, Hints, get, sniff
from ...regions import Region
from ...records import DATA_TYPES, GuestType, PageBatch
from ...synth import GuestSpec, legacy_bytes
from ..reading import read_records
from ..v2 import v2_bytes


def _pv(**more: Any) -> GuestSpec:
    return GuestSpec(pages=20, vcpus=2, **more)


def _hvm(**more: Any) -> GuestSpec:
    return GuestSpec(guest="hvm", pages=20, vcpus=2, **more)


#: How a sample is made: "legacy", ("v2", align, wrap), or the options of a convert.
Recipe = Union[str, tuple[str, bool, Optional[str]], list[str]]

#: name -> (format, spec, recipe).
RECIPES: dict[str, tuple[str, GuestSpec, Recipe]] = {
    "legacy-4.5-pv-xl": ("legacy", _pv(xsave=True, wrapper="xl",
                                             special_pages=True), "legacy"),
    "legacy-4.5-pv32-tmem": ("legacy", GuestSpec(pages=20, guest_bits=32, tmem=True), "legacy"),
    "legacy-4.5-hvm": ("legacy", _hvm(), "legacy"),
    "legacy-remus-pv": ("legacy", _pv(variant="remus", checkpoints=2), "legacy"),
    "legacy-3.2-pv32": ("legacy", GuestSpec(pages=20, variant="3.2", toolstack_bits=32),
                        "legacy"),
    "legacy-3.1-hvm": ("legacy", _hvm(variant="3.1"), "legacy"),
    "legacy-3.0.4-pae": ("legacy", GuestSpec(pages=20, variant="3.0.4-pae", toolstack_bits=32),
                         "legacy"),
    "legacy-3.0-pv": ("legacy", GuestSpec(pages=20, variant="3.0"), "legacy"),
    "legacy-2007-hvm": ("legacy", GuestSpec(guest="hvm", pages=20, variant="2007-hvm"),
                        "legacy"),
    "v2-pv": ("v2", _pv(xsave=True), ("v2", False, None)),
    "v2-hvm-libxl": ("v2", _hvm(), ("v2", False, "libxl")),
    "v2-pv-align-xl": ("v2", GuestSpec(pages=20), ("v2", True, "xl")),
    "v2-version2-hvm": ("v2", _hvm(), ["--to", "v2", "--format-version", "2"]),
    "aligned-pv": ("aligned", _pv(xsave=True), ["--to", "aligned"]),
    "aligned-hvm": ("aligned", _hvm(), ["--to", "aligned"]),
    "aligned-pv-noindex": ("aligned", GuestSpec(pages=20), ["--to", "aligned", "--no-index"]),
    "core-pv": ("core", _pv(), ["--to", "core"]),
    "core-hvm": ("core", _hvm(), ["--to", "core"]),
}


@dataclass(frozen=True)
class Sample:
    name: str
    format: str
    data: bytes
    regions: tuple[Region, ...]   #: where its structures lie (``xcformat map``'s regions)
    pfn: int                      #: a pfn it holds data for
    guest: str                    #: "pv" or "hvm"
    options: tuple[str, ...] = () #: what every command needs to read it (``--guest`` ...)


def _convert(spec: GuestSpec, options: list[str], folder: Path, name: str) -> bytes:
    source, target = folder / f"{name}.legacy", folder / name
    source.write_bytes(legacy_bytes(spec))
    done = subprocess.run([sys.executable, "-m", "xcformat", "convert", str(source), str(target),
                           "--no-progress", "--drop", "tsc,toolstack,config,emulator", *options],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"sample {name}: convert failed: {done.stderr.strip()}")
    return target.read_bytes()


def _make(name: str, folder: Path) -> Sample:
    fmt, spec, how = RECIPES[name]
    if how == "legacy":
        data = legacy_bytes(spec)
    elif isinstance(how, tuple):
        data = v2_bytes(spec, align=how[1], wrap=how[2])
    else:
        assert isinstance(how, list)
        data = _convert(spec, how, folder, name)
    path = folder / f"{name}.sample"
    path.write_bytes(data)
    options = _hint_options(spec, data)
    hints = Hints(guest=GuestType(spec.guest), toolstack_bits=spec.toolstack_bits) \
        if options else Hints()
    regions: list[Region] = []
    records, _, _ = read_records(path, get(fmt), hints, on_region=regions.append)
    pfn = next(p for r in records if isinstance(r, PageBatch) and r.data_pages
               for p, t in zip(r.pfns, r.types) if t in DATA_TYPES)
    return Sample(name, fmt, data, tuple(regions), pfn, spec.guest, options)


def _hint_options(spec: GuestSpec, data: bytes) -> tuple[str, ...]:
    """``--guest``/``--width`` where the sample's bytes cannot tell them (old legacy images), so
    that its mutants reach the reader rather than stopping at "say --guest"."""
    undecided = {name for verdict in sniff(data[:SNIFF_BYTES]) for name in verdict.undecided}
    if not undecided:
        return ()
    return ("--guest", spec.guest, "--width", str(spec.toolstack_bits))


def build_samples(folder: Path, names=None) -> list[Sample]:
    """The samples named (all of them by default), built in ``folder``."""
    return [_make(name, folder) for name in (names or RECIPES)]
