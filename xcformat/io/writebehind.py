"""A thread that moves bytes through a fixed pool of aligned buffers while the caller goes on.

``os.pwritev``/``os.preadv``/``os.write`` release the GIL, so the caller's work (main thread) and
the thread's transfers overlap, and a conversion is bounded by the slower device rather than
the sum.  When every buffer is in flight the caller waits (back pressure), so memory stays at
``depth`` buffers whatever the image size.  Two uses share the thread and the pool:

* :class:`WriteBehind`: the caller fills a buffer and the thread writes it (a sink on a file);
* :class:`ReadAhead`: the thread fills a buffer and the caller writes it (a sink on a stream,
  whose writes stay in the caller's thread, where SIGINT interrupts one blocked on a pipe).
"""

from __future__ import annotations

import mmap
import queue
import threading
from collections.abc import Callable

from .buffers import aligned_buffer, discard

#: Writes ``view`` at file offset ``offset`` completely (raises OSError on failure).
Put = Callable[[memoryview, int], None]
#: What the thread does with one buffer.
Job = Callable[[memoryview], None]


class _Worker:
    def __init__(self, *, size: int, depth: int, name: str):
        self._free: queue.Queue[mmap.mmap] = queue.Queue()
        for _ in range(depth):
            self._free.put(aligned_buffer(size))
        # Work items: a buffer and its job, an Event to set once everything before it is done,
        # or None to stop.
        self._work: queue.Queue[tuple[mmap.mmap, Job] | threading.Event | None] = queue.Queue()
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def check(self) -> None:
        """Raise the first error a job raised."""
        if self._error is not None:
            raise self._error

    def _done(self, buf: mmap.mmap) -> None:
        """Where a buffer goes once its job is done."""
        self._free.put(buf)

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
            buf, job = item
            if self._error is None:
                try:
                    with memoryview(buf) as view:
                        job(view)
                except Exception as exc:
                    # Without its traceback, whose frames would pin views of the buffer.
                    self._error = exc.with_traceback(None)
            self._done(buf)


class WriteBehind(_Worker):
    """Writes filled buffers while the caller goes on reading and converting."""

    def __init__(self, put: Put, *, size: int, depth: int):
        self._put = put
        super().__init__(size=size, depth=depth, name="xcformat-writer")

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
        self._work.put((buf, lambda view: self._put(view[:length], offset)))

    def drain(self) -> None:
        """Wait until everything submitted is written; raise the first write error."""
        done = threading.Event()
        self._work.put(done)
        done.wait()
        self.check()


class ReadAhead(_Worker):
    """Fills buffers, in the order asked, while the caller writes the ones filled before."""

    def __init__(self, *, size: int, depth: int):
        self._filled: queue.Queue[mmap.mmap] = queue.Queue()
        super().__init__(size=size, depth=depth, name="xcformat-reader")

    def fill(self, job: Job) -> None:
        """Have a free buffer filled by ``job`` (waits while none is free)."""
        self.check()
        self._work.put((self._free.get(), job))

    def filled(self) -> mmap.mmap:
        """The oldest buffer asked for, once filled; raise the error its job raised."""
        buf = self._filled.get()
        if self._error is not None:
            self._free.put(buf)
            self.check()
        return buf

    def recycle(self, buf: mmap.mmap) -> None:
        """Return a buffer from :meth:`filled` to the pool."""
        self._free.put(buf)

    def _done(self, buf: mmap.mmap) -> None:
        self._filled.put(buf)

    def close(self) -> None:
        super().close()
        while not self._filled.empty():
            discard(self._filled.get_nowait())
