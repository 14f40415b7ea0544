"""One-line notices from the I/O layer (a fallback from the requested ``--io`` mode).

Each distinct notice is said once per process, on the ``xcformat`` logger (the CLI prints it on
standard error); a caller that wants them elsewhere installs its own handler with
:func:`set_handler`.
"""

from __future__ import annotations

from collections.abc import Callable

from ..log import say

Handler = Callable[[str], None]

_handler: Handler | None = say
_said: set[str] = set()


def set_handler(handler: Handler | None) -> Handler | None:
    """Send notices to ``handler`` (None: drop them); forget what was said; return the old one."""
    global _handler
    old, _handler = _handler, handler
    _said.clear()
    return old


def notice(message: str) -> None:
    if message in _said:
        return
    _said.add(message)
    if _handler is not None:
        _handler(message)
