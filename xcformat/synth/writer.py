"""Turning the item walk into bytes: in memory for small images, streamed for big ones."""

from __future__ import annotations

import os
from typing import BinaryIO

from .batches import Batch
from .pages import PageBuilder
from .spec import GuestSpec
from .stream import Chunk, items

#: Small pieces are gathered up to this size before a write; page data is written as it is.
_GATHER = 1 << 20


def pieces(spec: GuestSpec):
    """The image as byte pieces in order.  Page data is a view that the next piece reuses:
    consume (write or copy) each piece before asking for the next."""
    builder = PageBuilder(spec.seed, spec.batch)
    for item in items(spec):
        if isinstance(item, Batch):
            yield item.header()
            if not item.compressed:
                yield item.pages(builder)
        elif isinstance(item, Chunk):
            yield item.data
        elif item:
            yield item


def legacy_bytes(spec: GuestSpec) -> bytes:
    """The whole image in memory (for small images: tests, strategies)."""
    out = bytearray()
    for piece in pieces(spec):
        out += piece
    return bytes(out)


def write_legacy(spec: GuestSpec, target: BinaryIO | str | os.PathLike) -> int:
    """Stream the image to a binary file object or a path; returns the number of bytes written.

    Memory stays at about one batch whatever the image size.
    """
    if isinstance(target, (str, os.PathLike)):
        with open(target, "wb", buffering=0) as out:
            return write_legacy(spec, out)
    written = 0
    small = bytearray()
    for piece in pieces(spec):
        if len(piece) < _GATHER:
            small += piece
            if len(small) < _GATHER:
                continue
            piece, small = small, bytearray()
        elif small:
            written += _write_all(target, small)
            small = bytearray()
        written += _write_all(target, piece)
    return written + _write_all(target, small)


def _write_all(target: BinaryIO, data) -> int:
    view = memoryview(data)
    while view:
        done = target.write(view)
        if done is None:               # a non-blocking raw stream that took nothing
            raise BlockingIOError("write_legacy needs a blocking file object")
        view = view[done:]
    return len(data)
