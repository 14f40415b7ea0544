"""The public strategies produce what they promise."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xcformat.synth import expected
from xcformat.testing import guest_specs, legacy_images, mutations, spec_images, truncations

from .walker import walk

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(spec_images())
def test_images_of_every_variant_walk_to_what_expected_says(case):
    spec, image = case
    e = expected(spec)
    found = walk(image, w=spec.toolstack_bits // 8, guest=spec.guest,
                 hvm_tail=spec.info.hvm_tail, typed=spec.info.typed_hvm_pfns)
    assert len(image) == e.size
    assert tuple(found.chunks) == e.chunks
    assert found.pages == e.contents()


@FAST
@given(guest_specs(variant="remus", guest="hvm", seed=st.integers(5, 6)))
def test_constraints_pin_fields_or_draw_them(spec):
    assert (spec.variant, spec.guest) == ("remus", "hvm") and spec.seed in (5, 6)


@FAST
@given(guest_specs(max_pages=20, max_vcpus=1))
def test_size_bounds_hold(spec):
    assert spec.vcpus == (0,)
    assert spec.pages <= max(20, 16 if spec.guest == "hvm" else 13)


def test_unknown_constraint_is_refused():
    with pytest.raises(TypeError, match="colour"):
        guest_specs(colour="blue")


@FAST
@given(st.data())
def test_mutations_differ_and_truncations_are_strict_prefixes(data):
    image = data.draw(legacy_images(variant="4.5"))
    mutated = data.draw(mutations(image))
    assert mutated != image and isinstance(mutated, bytes)
    prefix = data.draw(truncations(image))
    assert len(prefix) < len(image) and image.startswith(prefix)


def test_sample_variants_reachable():
    seen = set()

    @settings(max_examples=150, deadline=None, database=None)
    @given(guest_specs())
    def collect(spec):
        seen.add((spec.variant, spec.guest))

    collect()
    assert len(seen) >= 8      # of the 12 variant/guest pairs, most appear in 150 draws


@FAST
@given(spec_images(variant="remus", compression=True, checkpoints=2))
def test_compression_only_on_request_and_then_walkable(case):
    spec, image = case
    assert spec.compression
    found = walk(image, w=spec.toolstack_bits // 8, guest=spec.guest,
                 hvm_tail=spec.info.hvm_tail)
    assert -13 in found.chunks and found.pages == expected(spec).contents()


@FAST
@given(guest_specs())
def test_default_specs_are_readable_from_a_file(spec):
    assert not spec.compression
