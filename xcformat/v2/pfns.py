"""PAGE_DATA pfn entries in bulk: type nibbles, reserved bits and pfns without per-entry Python.

An entry is a little-endian u64 (spec/v2.md#page-data): type in bits 63-60, reserved bits 59-52,
pfn in bits 51-0.  Byte 7 of an entry holds the type (high nibble) and reserved bits 59-56; byte 6
holds reserved bits 55-52 (high nibble) and pfn bits 51-48.  ``bytes.translate`` over those byte
columns does the per-entry work in C.
"""

from __future__ import annotations

import sys
from array import array

from ..records import DATA_TYPES

_HIGH = bytes(b >> 4 for b in range(256))
_LOW = bytes(b & 0xF for b in range(256))
_DATA_FLAG = bytes(1 if b >> 4 in DATA_TYPES else 0 for b in range(256))
_SHIFT = bytes((b << 4) & 0xFF for b in range(256))
_LITTLE = sys.byteorder == "little"


def types_of(raw: bytes) -> bytes:
    """The type nibble of each entry."""
    return raw[7::8].translate(_HIGH)


def reserved_bits_set(raw: bytes) -> bool:
    """Whether any entry has a reserved bit (59-52) set."""
    return bool(raw[7::8].translate(_LOW).strip(b"\0") or raw[6::8].translate(_HIGH).strip(b"\0"))


def data_flags(raw: bytes) -> bytes:
    """1 for each entry whose type carries 4096 bytes of data, else 0."""
    return raw[7::8].translate(_DATA_FLAG)


def pfns_of(raw: bytes) -> tuple[int, ...]:
    """The pfn (bits 51-0) of each entry."""
    masked = bytearray(raw)
    masked[7::8] = bytes(len(raw) // 8)
    masked[6::8] = raw[6::8].translate(_LOW)
    return tuple(u64s(masked))


def u64s(raw: bytes | bytearray | memoryview) -> array:
    """Little-endian u64 values of ``raw`` as an array (one C-level conversion)."""
    values = array("Q", bytes(raw))
    if not _LITTLE:
        values.byteswap()
    return values


def entries(pfns, types: bytes) -> bytes:
    """Pack pfns and type nibbles into little-endian u64 entries."""
    packed = array("Q", pfns)
    if not _LITTLE:
        packed.byteswap()
    raw = bytearray(packed.tobytes())
    # The type goes into the high nibble of byte 7, which is free because pfns are < 2**52.
    raw[7::8] = types.translate(_SHIFT)
    return bytes(raw)
