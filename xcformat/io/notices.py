"""One-line notices from the I/O layer (a fallback from the requested ``--io`` mode).

Each distinct notice is said once per process.  The CLI prints them on stderr (the default);
a caller that wants silence or a log installs its own handler with :func:`set_handler`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

Handler = Callable[[str], None]


def _to_stderr(message: str) -> None:
    print(f"xcformat: {message}", file=sys.stderr)


_handler: Handler | None = _to_stderr
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
