"""Writing a stream as whole 4096-byte blocks, so an O_DIRECT sink never needs a bounce buffer.

Small structures collect in a buffer that is written out only in whole blocks; page data, which
the format places on block boundaries, goes straight from the caller's buffer to the sink.
"""

from __future__ import annotations

from ..io import Sink
from .schema import BLOCK

#: Write the collected small structures once this many bytes have gathered.
FLUSH_AT = 1 << 20


class BlockWriter:
    def __init__(self, sink: Sink):
        self._sink = sink
        self._pending = bytearray()
        self._written = 0

    @property
    def offset(self) -> int:
        """File offset of the next byte :meth:`put` appends."""
        return self._written + len(self._pending)

    def put(self, data: bytes | bytearray | memoryview) -> None:
        self._pending += data
        if len(self._pending) >= FLUSH_AT:
            self._write(len(self._pending) // BLOCK * BLOCK)

    def put_blocks(self, view: memoryview) -> None:
        """Whole blocks at a block-aligned offset: written as they are, without a copy."""
        if self.offset % BLOCK or len(view) % BLOCK:
            raise AssertionError(f"unaligned page write at {self.offset:#x} ({len(view)} bytes)")
        self.drain()
        if len(view):
            self._sink.write(view)
            self._written += len(view)

    def drain(self) -> None:
        """Write everything collected; it must end on a block boundary."""
        if len(self._pending) % BLOCK:
            raise AssertionError(f"pending bytes end unaligned at {self.offset:#x}")
        self._write(len(self._pending))

    def _write(self, n: int) -> None:
        if n:
            with memoryview(self._pending) as pending:
                self._sink.write(pending[:n], gather=True)
            del self._pending[:n]
            self._written += n
