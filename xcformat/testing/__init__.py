"""Public hypothesis strategies for fuzzing readers of Xen legacy save images.

The images come from :mod:`xcformat.synth`, an independent writer of the legacy stream, so they
can test any reader, this project's or your own::

    from hypothesis import given, settings
    from xcformat.testing import legacy_images, mutations, spec_images, truncations

    @given(spec_images(guest="pv"))
    def test_reader_finds_every_page(case):
        spec, image = case
        ...   # parse image, compare with xcformat.synth.expected(spec)

    @settings(max_examples=200)
    @given(legacy_images().flatmap(mutations))
    def test_reader_fails_cleanly(image):
        ...   # your reader must raise its own error type, never crash or hang

Strategies:

* :func:`guest_specs` — valid :class:`~xcformat.synth.GuestSpec` values over every variant,
  guest type and width; keyword constraints pin a field (``variant="4.5"``) or draw it from a
  strategy of your own; ``max_pages`` and ``max_vcpus`` bound the size.
* :func:`spec_images` — ``(spec, image bytes)`` pairs; :func:`legacy_images` — the bytes only.
* :func:`mutations` — hostile variants of given bytes (flipped bits, interesting integers at
  word-aligned offsets, deleted, duplicated or inserted ranges, truncation), never equal to it.
* :func:`truncations` — every strict prefix, biased towards the short ones and the ends.
* :func:`v2_images` — migration streams v2/v3 of the same guests (bare, libxl, xl; aligned or
  not), written by xcformat's own v2 writer; :func:`v2_bytes` converts one spec.

Helper: :func:`read_records` reads a whole (small) image into a list of records with page data
copied, for comparing what two images hold.

Examples are small (tens of pages) so that hundreds of them run in seconds.  Hypothesis is not a
dependency of xcformat itself: install it with ``pip install 'xcformat[testing]'``.
"""

try:
    import hypothesis  # noqa: F401
except ModuleNotFoundError as missing:
    raise ModuleNotFoundError("xcformat.testing needs Hypothesis: pip install "
                              "'xcformat[testing]'", name="hypothesis") from missing

from .images import guest_specs, legacy_images, spec_images
from .reading import read_records
from .hostile import mutations, truncations
from .v2 import v2_bytes, v2_images

__all__ = ["guest_specs", "spec_images", "legacy_images", "mutations", "truncations",
           "v2_images", "v2_bytes", "read_records"]
