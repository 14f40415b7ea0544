"""I/O for images: sources that stream a file (or pipe) and sinks that write one atomically.

Readers and writers only see :class:`Source` and :class:`Sink`; how the bytes move (buffered,
O_DIRECT, uncached) is chosen here with an :class:`IoMode` and never reaches the format code.
"""

from .modes import IoMode
from .sink import Sink, open_sink
from .source import Source, open_source

__all__ = ["IoMode", "Sink", "Source", "open_sink", "open_source"]
