"""A thread that writes filled buffers while the caller goes on reading and converting.

``os.pwritev``/``os.write`` release the GIL, so a conversion's reads (main thread) and writes
(this thread) overlap, and a conversion is bounded by the slower device rather than the sum.
Buffers come from a fixed pool: when every buffer is in flight the producer waits (back
pressure), so memory stays at ``depth`` buffers whatever the image size.
"""

from __future__ import annotations

import mmap
import queue
import threading
from collections.abc import Callable

from .buffers import aligned_buffer, discard

#: Writes ``view`` at file offset ``offset`` completely (raises OSError on failure).
Put = Callable[[memoryview, int], None]


class WriteBehind:
    def __init__(self, put: Put, *, size: int, depth: int):
        self._put = put
        self._free: queue.Queue[mmap.mmap] = queue.Queue()
        for _ in range(depth):
            self._free.put(aligned_buffer(size))
        # Work items: a chunk to write, an Event to set once everything before it is written,
        # or None to stop.
        self._work: queue.Queue[tuple[mmap.mmap, int, int] | threading.Event | None] = \
            queue.Queue()
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._run, name="xcformat-writer", daemon=True)
        self._thread.start()

    def take(self) -> mmap.mmap:
        """A free buffer (waits while all are being written)."""
        self.check()
        return self._free.get()

    def give_back(self, buf: mmap.mmap) -> None:
        """Return a taken buffer unused."""
        self._free.put(buf)

    def submit(self, buf: mmap.mmap, length: int, offset: int) -> None:
        """Write ``buf[:length]`` at ``offset``; the buffer returns to the pool afterwards."""
        self.check()
        self._work.put((buf, length, offset))

    def drain(self) -> None:
        """Wait until everything submitted is written; raise the first write error."""
        done = threading.Event()
        self._work.put(done)
        done.wait()
        self.check()

    def check(self) -> None:
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        self._work.put(None)
        self._thread.join()
        while not self._free.empty():
            discard(self._free.get_nowait())

    def _run(self) -> None:
        while (item := self._work.get()) is not None:
            if isinstance(item, threading.Event):
                item.set()
                continue
            buf, length, offset = item
            if self._error is None:
                try:
                    with memoryview(buf) as view:
                        self._put(view[:length], offset)
                except OSError as exc:
                    # Without its traceback, whose frames would pin views of the buffer.
                    self._error = exc.with_traceback(None)
            self._free.put(buf)
