"""Turning the item walk into bytes: in memory for small images, streamed for big ones."""

from __future__ import annotations

import os
from typing import BinaryIO

from .spec import GuestSpec
from .stream import Batch, Chunk, items

#: Gather this much before each write (a batch is ~4 MiB; small items are joined to it).
_FLUSH = 8 << 20


def _pieces(spec: GuestSpec):
    for item in items(spec):
        if isinstance(item, Batch):
            yield item.header()
            yield item.pages()
        elif isinstance(item, Chunk):
            yield item.data
        elif item:
            yield item


def legacy_bytes(spec: GuestSpec) -> bytes:
    """The whole image in memory (for small images: tests, strategies)."""
    return b"".join(_pieces(spec))


def write_legacy(spec: GuestSpec, target: BinaryIO | str | os.PathLike) -> int:
    """Stream the image to a binary file object or a path; returns the number of bytes written.

    Memory stays at about one batch whatever the image size.
    """
    if isinstance(target, (str, os.PathLike)):
        with open(target, "wb") as out:
            return write_legacy(spec, out)
    written = 0
    pending: list = []
    size = 0
    for piece in _pieces(spec):
        pending.append(piece)
        size += len(piece)
        if size >= _FLUSH:
            written += _flush(target, pending)
            pending, size = [], 0
    return written + _flush(target, pending)


def _flush(target: BinaryIO, pending: list) -> int:
    if len(pending) == 1:
        return target.write(pending[0]) or 0
    data = b"".join(pending)
    target.write(data)
    return len(data)
