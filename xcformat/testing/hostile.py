"""Strategies for hostile input: mutated and truncated copies of a valid image."""

from __future__ import annotations

import struct

from hypothesis import strategies as st

#: Values that break naive readers: zero, all-ones, sign boundaries, the batch limit ± 1,
#: page-type nibbles 5-8 and D-F, the 28-bit pfn limit, the XTAB filler.
INTERESTING_U32 = (0, 1, 0x7F, 0x80, 0xFF, 0x3FF, 0x400, 0x401, 0xFFF, 0x1000, 0x7FFFFFFF,
                   0x80000000, 0xFFFFFFFF, 0xFFFFFFFE, 0x0FFFFFFF, 0x10000000, 0x50000000,
                   0x80000000 | 5, 0xD0000000, 0xE0000000, 0xF0000000, 0x54381286,
                   2800, 5168, 128, 4096)


def _offsets(size: int):
    """Offsets biased to the headers (first 64 KiB) and to 4-byte alignment, where fields lie."""
    head = min(size, 64 << 10)
    return st.one_of(st.integers(0, head - 1), st.integers(0, (size - 1) // 4).map(lambda i: 4 * i),
                     st.integers(0, size - 1))


def _operation(size: int):
    at = _offsets(size)
    return st.one_of(
        st.tuples(st.just("flip"), at, st.integers(0, 7)),
        st.tuples(st.just("u32"), at, st.sampled_from(INTERESTING_U32)),
        st.tuples(st.just("u64"), at, st.sampled_from(INTERESTING_U32).map(
            lambda v: v | (v << 32))),
        st.tuples(st.just("byte"), at, st.integers(0, 255)),
        st.tuples(st.just("delete"), at, st.integers(1, 64)),
        st.tuples(st.just("duplicate"), at, st.integers(1, 64)),
        st.tuples(st.just("insert"), at, st.binary(min_size=1, max_size=16)),
        st.tuples(st.just("truncate"), at, st.just(0)),
    )


def _apply(data: bytes, operations) -> bytes:
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
        else:
            del out[at:]
    return bytes(out)


def mutations(data: bytes, max_operations: int = 3):
    """Copies of ``data`` changed by 1..``max_operations`` hostile edits; never equal to it."""
    if not data:
        raise ValueError("mutations needs non-empty data")
    return (st.lists(_operation(len(data)), min_size=1, max_size=max_operations)
            .map(lambda ops: _apply(data, ops)).filter(lambda out: out != data))


def truncations(data: bytes):
    """Strict prefixes of ``data``: short ones and the last bytes are favoured, as readers most
    often get those wrong."""
    if not data:
        raise ValueError("truncations needs non-empty data")
    size = len(data)
    lengths = st.one_of(st.integers(0, min(size - 1, 64)), st.integers(max(0, size - 64), size - 1),
                        st.integers(0, size - 1))
    return lengths.map(lambda n: data[:n])
