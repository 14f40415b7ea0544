"""xcformat: Xen save/restore streams and core dumps, specified, read, written, converted.

The API for tools: :func:`open` an image (a path, bytes or a binary file object), then ask the
:class:`Image` for its :meth:`~Image.info`, :meth:`~Image.validate` it, read its
:meth:`~Image.records` or one :meth:`~Image.page`, or :meth:`~Image.convert` it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .errors import (EnvironmentProblem, Finding, FormatError, NegotiationError, PeerError,
                     TruncatedError, UnsupportedError, XcFormatError)

if TYPE_CHECKING:
    from .image import Image, Info, Page, Validation, Written, open, validate

__version__ = "0.1.0"

__all__ = ["open", "validate", "Image", "Info", "Validation", "Page", "Written", "Finding",
           "XcFormatError", "FormatError", "TruncatedError", "UnsupportedError",
           "NegotiationError", "PeerError", "EnvironmentProblem", "__version__"]

#: Loaded on first use: the image API pulls in the I/O layer (and cffi), which the command
#: line imports only once it can report a broken installation as an error.
_FROM_IMAGE = frozenset({"open", "validate", "Image", "Info", "Validation", "Page", "Written"})


def __getattr__(name: str) -> object:
    if name in _FROM_IMAGE:
        return getattr(importlib.import_module(".image", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
