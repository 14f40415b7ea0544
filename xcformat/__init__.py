"""xcformat: Xen save/restore streams and core dumps, specified, read, written, converted.

The API for tools: :func:`open` an image (a path, bytes or a binary file object), then ask the
:class:`Image` for its :meth:`~Image.info`, :meth:`~Image.validate` it, read its
:meth:`~Image.records` or one :meth:`~Image.page`, or :meth:`~Image.convert` it.
"""

__version__ = "0.1.0"

from .errors import (EnvironmentProblem, Finding, FormatError, NegotiationError,  # noqa: E402
                     PeerError, TruncatedError, UnsupportedError, XcFormatError)
from .image import Image, Info, Page, Validation, Written, open, validate  # noqa: E402

__all__ = ["open", "validate", "Image", "Info", "Validation", "Page", "Written", "Finding",
           "XcFormatError", "FormatError", "TruncatedError", "UnsupportedError",
           "NegotiationError", "PeerError", "EnvironmentProblem", "__version__"]
