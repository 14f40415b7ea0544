"""Strategies for migration streams v2/v3: synthetic legacy guests converted by xcformat's writer.

Unlike :func:`~xcformat.testing.legacy_images` these bytes come from this project's own writer
(legacy reader, then v2 writer), so they suit fuzzing other v2 readers, and this one's error
paths, rather than checking the writer itself.  The streams pass Xen's ``verify-stream-v2``
(checked in development for every synthetic variant; Remus checkpoints arrive flattened).
"""

from __future__ import annotations

import io

from hypothesis import strategies as st

from .. import image
from ..synth import legacy_bytes
from .images import guest_specs

#: What v2 cannot carry that synthetic guests may hold: dropped on the way.
_DROPS = frozenset({"config", "unmapped-pfns", "tmem", "verify", "emulator", "toolstack"})
#: The 2007 development HVM layout keeps vCPU state outside the HVM context: no v2 form.
_VARIANTS = ("3.0", "3.0.4-pae", "3.1", "3.2", "4.5", "remus")


def v2_bytes(spec, *, align: bool = False, wrap: str | None = None) -> bytes:
    """The v2 stream of a :class:`~xcformat.synth.GuestSpec` guest."""
    memory = io.BytesIO()
    with image.open(legacy_bytes(spec), guest=spec.guest, width=spec.toolstack_bits) as legacy:
        legacy.convert(memory, "v2", align=align, wrap=wrap, drop=_DROPS,
                       on_message=lambda message: None)
    return memory.getvalue()


def v2_images(*, max_pages: int = 48, **constraints):
    """v2 streams (bytes): bare libxc, libxl or xl-wrapped, page-aligned or not.  Keyword
    constraints are those of :func:`~xcformat.testing.guest_specs`."""
    constraints.setdefault("variant", st.sampled_from(_VARIANTS))
    specs = guest_specs(max_pages=max_pages, **constraints)
    return st.builds(lambda spec, align, wrap: v2_bytes(spec, align=align, wrap=wrap), specs,
                     st.booleans(), st.sampled_from((None, "libxc", "libxl", "xl")))
