"""Deterministic synthetic Xen guests, written as legacy save images.

This package is an **independent writer** of the legacy save stream (Xen 3.0 → 4.5): it builds
every byte with :mod:`struct` straight from the layouts of Xen's savers (spec/legacy.md) and shares
no code with :mod:`xcformat.legacy`, so the legacy reader/writer can be tested against it.

Describe a guest with :class:`GuestSpec`, then:

* :func:`legacy_bytes` ``(spec) -> bytes`` — the whole image in memory (small images);
* :func:`write_legacy` ``(spec, path_or_file)`` — streamed in about one batch of memory, at close
  to disk speed (multi-GiB images);
* :func:`expected` ``(spec) -> Expected`` — what a correct reader must find: guest type, widths,
  p2m_size, data pages, vcpu ids, chunk ids in order, ext-info blocks, frame list, special
  pfns, file size and offsets, the lowest Xen version the bytes prove, and
  ``Expected.content(pfn)``, the final 4096 bytes of any pfn;
* :func:`page_content` ``(seed, pfn, version=0)`` — an ordinary page's bytes;
* :func:`sample` ``(path)`` — the demo image (``SAMPLE``: PV 64/64, 4.5, xsave, xl).

Variants (``GuestSpec.variant``; :data:`VARIANTS` holds what each writes):

``"4.5"``
    Xen 4.1–4.5 layout (libxl): ext-info ``vcpu``/``extv`` [``xcnt``], −7 before the
    batches, −2, HVM params, −18, −9; optional tmem (−5), xl wrapper,
    ``DeviceModelRecord0002``.
``"remus"``
    4.0–4.4 xend Remus: body + tail repeated ``checkpoints`` times, no −9/−18; later
    checkpoints re-send some pages (the last copy wins); ``RemusDeviceModelState``; with
    ``compression`` the later checkpoints use Remus page compression (−13, −12).
``"3.2"``
    ext-info ``vcpu`` + ``extv``, −2; no −7/−9/−18; XTAB entries keep MFN bits (PV) or
    pfns (HVM).
``"3.1"``
    −2 and all-vcpu tail; ext-info only for 32-bit PAE guests (a lone ``vcpu`` block).
``"3.0.4-pae"``
    2007 PV (released 3.0.3/3.0.4), 32-bit PAE guest with the lone ``vcpu`` block; vcpu 0 only.
``"3.0"``
    2007 PV without ext-info; vcpu 0 only.
``"2007-hvm"``
    The unreleased 2007 HVM development layout (bare pfns, vcpu contexts after the HVM context).

Any variant can also be written as a live migration (``live``) or with the debug flag's −1
re-send (``verify``); ``special_pages`` adds BROKEN/XALLOC/XTAB entries and unmapped pfns.

The guest is consistent the way a strict validator checks it: PV page tables (L1–L4, pinned
and unpinned) hold canonical PTEs naming pfns < p2m_size; the p2m frame list names pages sent as
NOTAB; every vcpu context's cr3 names the pinned top-level table, vcpu 0's edx the start_info pfn,
and ``gdt_frames[0]`` a NOTAB page; HVM contexts are HEADER (magic 0x54381286), one CPU record per
vcpu, END, and the magic pfns are data pfns < p2m_size.
"""

from .expected import Expected, expected, min_xen_version
from .pages import page_content
from .sample import SAMPLE, sample
from .spec import GuestSpec
from .variants import VARIANTS, Variant
from .writer import legacy_bytes, write_legacy

__all__ = ["GuestSpec", "Expected", "expected", "min_xen_version", "page_content", "legacy_bytes",
           "write_legacy", "sample", "SAMPLE", "VARIANTS", "Variant"]
