"""The demo's sample image: a 64-bit PV guest saved by 64-bit Xen 4.5 tools, with xsave."""

from __future__ import annotations

import os

from .spec import GuestSpec
from .writer import write_legacy

#: About 4 MiB: 1000 pages, two vcpus, xsave, the special page types, an xl wrapper.
SAMPLE = GuestSpec(guest="pv", toolstack_bits=64, guest_bits=64, variant="4.5", pages=1000,
                   vcpus=2, xsave=True, wrapper="xl", special_pages=True, seed=2015)


def sample(path: str | os.PathLike, spec: GuestSpec = SAMPLE) -> GuestSpec:
    """Write the sample image to ``path``; returns its spec (pass it to ``expected``)."""
    write_legacy(spec, path)
    return spec
