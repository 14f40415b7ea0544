"""I/O for images: sources that stream a file (or pipe) and sinks that write one atomically.

Readers and writers only see :class:`Source` and :class:`Sink`; how the bytes move (buffered,
O_DIRECT, uncached, fadvise) is chosen here with an :class:`IoMode` and never reaches the format
code.  A writer that has page data in :func:`aligned_buffer` memory and writes it in whole
blocks at block-aligned offsets (``Sink.block``) gets it written with no copy under direct I/O.
A writer that must hand bytes on later and in another order keeps them in a
:class:`~.spool.Spool` and writes them back with :meth:`Sink.write_from`, which overlaps the
reading with the writing.
"""

from .buffers import aligned_buffer
from .modes import IoMode
from .notices import set_handler as set_notice_handler
from .sink import FileObjectSink, Sink, open_sink
from .source import Source, open_source

__all__ = ["FileObjectSink", "IoMode", "Sink", "Source", "aligned_buffer", "open_sink",
           "open_source", "set_notice_handler"]
