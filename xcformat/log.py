"""Where xcformat's messages go: the ``xcformat`` logger, never standard output.

Writers report what they dropped or adjusted, and the I/O layer which mode it fell back to,
through one function, :func:`say`, which logs at INFO level.  A program shows them by
configuring :mod:`logging` (the command line prints them on standard error); a caller that wants
them for itself passes its own callback where an API takes ``on_message``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

#: The logger every library message goes to.
logger = logging.getLogger("xcformat")

#: A callback that receives one message (one line, no trailing newline).
Say = Callable[[str], None]


def say(message: str) -> None:
    """Log ``message`` on the ``xcformat`` logger (INFO)."""
    logger.info(message)
