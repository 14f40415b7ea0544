"""The I/O modes a user can choose with ``--io``."""

from __future__ import annotations

import enum


class IoMode(str, enum.Enum):
    AUTO = "auto"
    DIRECT = "direct"
    UNCACHED = "uncached"
    FADVISE = "fadvise"
    BUFFERED = "buffered"
