"""The hostile edits: one definition drawn from Hypothesis or from a seeded Random."""

import random

from hypothesis import given, settings

from xcformat.testing import hostile, mutations

DATA = bytes(range(256)) * 4


def test_a_seeded_random_draws_the_same_edits_every_time():
    first = hostile.random_operations(random.Random(7), len(DATA), 3)
    again = hostile.random_operations(random.Random(7), len(DATA), 3)
    other = hostile.random_operations(random.Random(8), len(DATA), 3)
    assert first == again != other
    assert all(kind in hostile.KINDS for kind, _, _ in first)


def test_every_kind_of_edit_is_drawn_from_a_random_source():
    draw = hostile.RandomDraw(random.Random(1))
    kinds = {hostile.draw_operation(draw, len(DATA))[0] for _ in range(500)}
    assert kinds == set(hostile.KINDS)


def test_a_splice_copies_one_range_over_another_and_keeps_the_length():
    out = hostile.apply_operations(DATA, [("splice", 16, (512, 8))])
    assert len(out) == len(DATA)
    assert out[16:24] == DATA[512:520] and out[:16] == DATA[:16] and out[24:] == DATA[24:]


def test_field_values_reach_the_28_bit_pfn_limit_and_just_below_it():
    assert {0x0FFFFFFE, 0x0FFFFFFF, 0xFFFFFFFE} <= set(hostile.INTERESTING_U32)


@settings(max_examples=50, deadline=None)
@given(mutations(DATA))
def test_the_hypothesis_strategy_still_never_returns_its_input(mutant):
    assert mutant != DATA
