"""Hostile copies of the samples, each drawn from its own seed so that any one reproduces alone.

Four families, drawn in turn:

* ``random`` — 1-3 edits of :mod:`xcformat.testing.hostile` anywhere (flips, interesting
  integers, deletions, duplications, insertions, splices, truncation);
* ``field`` — interesting integers written over the first words of a structure (the offsets the
  sample's reader reported), where counts, pfns, ids and sizes lie;
* ``truncate`` — the image cut at a structure boundary or a few bytes either side of one;
* ``splice`` — a structure of another sample of the same format inserted at a boundary.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..hostile import RandomDraw, apply_operations, draw_value, random_operations
from .samples import Sample

FAMILIES = ("random", "field", "truncate", "splice")
#: How far into a structure field edits reach (in 4-byte words): headers and their counts.
FIELD_WORDS = 8
#: Largest structure copied by a splice.
SPLICE_BYTES = 8192


@dataclass(frozen=True)
class Mutant:
    case: int
    sample: Sample
    family: str
    operations: tuple
    data: bytes

    @property
    def label(self) -> str:
        return f"{self.family} " + "; ".join(_describe(op) for op in self.operations)


def _describe(operation: tuple) -> str:
    kind, at, arg = operation
    if kind in ("u32", "u64", "byte"):
        return f"{kind}@{at:#x}={arg:#x}"
    if kind == "insert":
        return f"insert@{at:#x}+{len(arg)}"
    if kind == "splice":
        return f"splice@{at:#x}<-{arg[0]:#x}+{arg[1]}"
    if kind == "truncate":
        return f"truncate@{at:#x}"
    return f"{kind}@{at:#x}:{arg}"


def _field(rng: random.Random, sample: Sample) -> list[tuple]:
    draw = RandomDraw(rng)
    edits = []
    for _ in range(rng.randint(1, 2)):
        region = rng.choice(sample.regions)
        words = max(1, min(FIELD_WORDS, region.length // 4))
        kind = rng.choice(("u32", "u64"))
        edits.append((kind, region.offset + 4 * rng.randrange(words), draw_value(draw, kind)))
    return edits


def _truncate(rng: random.Random, sample: Sample) -> list[tuple]:
    region = rng.choice(sample.regions)
    at = region.offset + rng.choice((0, region.length, rng.randint(-8, 8)))
    return [("truncate", max(0, min(at, len(sample.data) - 1)), 0)]


def _splice(rng: random.Random, sample: Sample, kin: list[Sample]) -> list[tuple]:
    donor = rng.choice(kin)
    piece = rng.choice(donor.regions)
    blob = donor.data[piece.offset:piece.offset + min(piece.length, SPLICE_BYTES)]
    return [("insert", rng.choice(sample.regions).offset, blob or b"\0")]


def mutant(seed: int, case: int, samples: list[Sample]) -> Mutant:
    """Mutant number ``case`` of the run seeded ``seed``: the same for the same arguments."""
    rng = random.Random(f"{seed}:{case}")
    sample = samples[case % len(samples)]
    family = FAMILIES[(case // len(samples)) % len(FAMILIES)]
    for _ in range(100):
        if family == "random":
            operations = random_operations(rng, len(sample.data))
        elif family == "field":
            operations = _field(rng, sample)
        elif family == "truncate":
            operations = _truncate(rng, sample)
        else:
            operations = _splice(rng, sample, [s for s in samples if s.format == sample.format])
        data = apply_operations(sample.data, operations)
        if data != sample.data:
            return Mutant(case, sample, family, tuple(operations), data)
    raise RuntimeError(f"case {case}: no edit changed {sample.name}")
