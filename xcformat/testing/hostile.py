"""Hostile input: mutated and truncated copies of a valid image.

The edits are defined once, over a small "draw" interface, so that the same ones serve as
Hypothesis strategies (:func:`mutations`, which shrink) and as a seeded :class:`random.Random`
source (:func:`random_operations`, for long reproducible hunts such as
:mod:`xcformat.testing.audit`).  An edit is a tuple ``(kind, offset, argument)``;
:func:`apply_operations` makes them.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Sequence
from typing import Protocol

from hypothesis import strategies as st

#: Values that break naive readers: zero, all-ones, sign boundaries, the batch limit ± 1,
#: page-type nibbles 5-8 and D-F, the 28-bit pfn limit and just below it (a pfn that passes a
#: width check but not a memory budget), the XTAB filler.
INTERESTING_U32 = (0, 1, 0x7F, 0x80, 0xFF, 0x3FF, 0x400, 0x401, 0xFFF, 0x1000, 0x7FFFFFFF,
                   0x80000000, 0xFFFFFFFF, 0xFFFFFFFE, 0x0FFFFFFF, 0x0FFFFFFE, 0x10000000,
                   0x50000000, 0x80000000 | 5, 0xD0000000, 0xE0000000, 0xF0000000, 0x54381286,
                   2800, 5168, 128, 4096)

#: Every kind of edit.  "splice" overwrites a range with a copy of another range of the input.
KINDS = ("flip", "u32", "u64", "byte", "delete", "duplicate", "insert", "truncate", "splice")


class Draw(Protocol):
    """Where an edit's choices come from."""

    def integer(self, low: int, high: int) -> int: ...

    def choice(self, options: Sequence): ...

    def binary(self, low: int, high: int) -> bytes: ...


class RandomDraw:
    """Choices from a seeded :class:`random.Random`."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def choice(self, options: Sequence):
        return options[self.rng.randrange(len(options))]

    def binary(self, low: int, high: int) -> bytes:
        return self.rng.randbytes(self.rng.randint(low, high))


class _HypothesisDraw:
    """Choices from a Hypothesis ``draw``, so that failing examples shrink."""

    def __init__(self, draw) -> None:
        self.draw = draw

    def integer(self, low: int, high: int) -> int:
        return self.draw(st.integers(low, high))

    def choice(self, options: Sequence):
        return self.draw(st.sampled_from(options))

    def binary(self, low: int, high: int) -> bytes:
        return self.draw(st.binary(min_size=low, max_size=high))


def draw_offset(draw: Draw, size: int) -> int:
    """An offset biased to the headers (first 64 KiB) and to 4-byte alignment, where fields lie."""
    how = draw.choice(("head", "word", "any"))
    if how == "head":
        return draw.integer(0, min(size, 64 << 10) - 1)
    if how == "word":
        return 4 * draw.integer(0, (size - 1) // 4)
    return draw.integer(0, size - 1)


def draw_value(draw: Draw, kind: str) -> int:
    """An interesting value for a "u32" or "u64" edit (a u64 repeats the u32 in both halves)."""
    value = draw.choice(INTERESTING_U32)
    return value | (value << 32) if kind == "u64" else value


def draw_operation(draw: Draw, size: int, at: int | None = None) -> tuple:
    """One edit of a ``size``-byte input, at ``at`` if given."""
    kind = draw.choice(KINDS)
    at = draw_offset(draw, size) if at is None else at
    if kind == "flip":
        return kind, at, draw.integer(0, 7)
    if kind in ("u32", "u64"):
        return kind, at, draw_value(draw, kind)
    if kind == "byte":
        return kind, at, draw.integer(0, 255)
    if kind in ("delete", "duplicate"):
        return kind, at, draw.integer(1, 64)
    if kind == "insert":
        return kind, at, draw.binary(1, 16)
    if kind == "splice":
        return kind, at, (draw_offset(draw, size), draw.integer(1, 4096))
    return kind, at, 0


def apply_operations(data: bytes, operations) -> bytes:
    """``data`` with ``operations`` made in order (offsets past the end are clamped)."""
    out = bytearray(data)
    for kind, at, arg in operations:
        at = min(at, max(len(out) - 1, 0))
        if not out:
            break
        if kind == "flip":
            out[at] ^= 1 << arg
        elif kind == "byte":
            out[at] = arg
        elif kind in ("u32", "u64"):
            packed = struct.pack("<I" if kind == "u32" else "<Q", arg)[:len(out) - at]
            out[at:at + len(packed)] = packed
        elif kind == "delete":
            del out[at:at + arg]
        elif kind == "duplicate":
            out[at:at] = out[at:at + arg]
        elif kind == "insert":
            out[at:at] = arg
        elif kind == "splice":
            start, length = arg
            piece = out[start:start + length]
            out[at:at + len(piece)] = piece
        else:
            del out[at:]
    return bytes(out)


def random_operations(rng: random.Random, size: int, max_operations: int = 3) -> list[tuple]:
    """1..``max_operations`` edits of a ``size``-byte input, drawn from ``rng``."""
    draw = RandomDraw(rng)
    return [draw_operation(draw, size) for _ in range(rng.randint(1, max_operations))]


@st.composite
def _operation(draw, size: int) -> tuple:
    return draw_operation(_HypothesisDraw(draw), size)


def mutations(data: bytes, max_operations: int = 3):
    """Copies of ``data`` changed by 1..``max_operations`` hostile edits; never equal to it."""
    if not data:
        raise ValueError("mutations needs non-empty data")
    return (st.lists(_operation(len(data)), min_size=1, max_size=max_operations)
            .map(lambda ops: apply_operations(data, ops)).filter(lambda out: out != data))


def truncations(data: bytes):
    """Strict prefixes of ``data``: short ones and the last bytes are favoured, as readers most
    often get those wrong."""
    if not data:
        raise ValueError("truncations needs non-empty data")
    size = len(data)
    lengths = st.one_of(st.integers(0, min(size - 1, 64)), st.integers(max(0, size - 64), size - 1),
                        st.integers(0, size - 1))
    return lengths.map(lambda n: data[:n])
