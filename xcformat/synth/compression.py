"""Remus checkpoint compression ("format B", xc_compression.c): pages as deltas against the copy
the receiver cached, carried in -12 chunks after batches that hold only their entry arrays.

Encoding per page (``xc_compression.c`` in RELEASE-4.5.0): ``0x00`` unchanged; ``0x80`` and 4096
raw bytes; otherwise runs over the 1024 u32 words, each a byte ``0x80 | n`` (skip n equal words)
or ``n`` followed by 4n bytes (copy n changed words), n ≤ 127.  The sender's cache holds the pages
it sent compressed before, so a page seen for the first time goes raw.
"""

from __future__ import annotations

import struct

from .batches import DIRTY_STRIDE, Batch
from .pages import page_content
from .spec import GuestSpec

UNCHANGED = b"\x00"
RAW = b"\x80"
MAX_RUN = 127
#: The first checkpoint is sent plainly; compressed checkpoints re-send versions from this one on.
FIRST_COMPRESSED_VERSION = 2


def delta(old: bytes, new: bytes) -> bytes:
    """The run-list encoding of ``new`` against ``old`` (or UNCHANGED)."""
    if old == new:
        return UNCHANGED
    words_old = struct.unpack("<1024I", old)
    words_new = struct.unpack("<1024I", new)
    out = bytearray()
    start = 0
    while start < 1024:
        changed = words_old[start] != words_new[start]
        end = start + 1
        while end < 1024 and end - start < MAX_RUN and \
                (words_old[end] != words_new[end]) == changed:
            end += 1
        if changed:
            out.append(end - start)
            out += new[4 * start:4 * end]
        else:
            out.append(0x80 | (end - start))
        start = end
    return bytes(out)


def previous_compressed_version(version: int) -> int | None:
    """The version of the same pfns the sender last compressed, if any (its cache)."""
    earlier = version - DIRTY_STRIDE
    return earlier if earlier >= FIRST_COMPRESSED_VERSION else None


def compressed_chunk(spec: GuestSpec, batch: Batch) -> bytes:
    """-12: i32 id, ulong length, then one encoding per data entry of ``batch``, in order."""
    earlier = previous_compressed_version(batch.version)
    parts = []
    for pfn in batch.pfns:
        page = page_content(spec.seed, pfn, batch.version)
        if earlier is None:
            parts.append(RAW + page)
        else:
            parts.append(delta(page_content(spec.seed, pfn, earlier), page))
    data = b"".join(parts)
    word = "Q" if spec.toolstack_bits == 64 else "I"
    return struct.pack(f"<i{word}", -12, len(data)) + data
