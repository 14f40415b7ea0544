"""xcformat: Xen save/restore streams and core dumps, specified, read, written, converted.

The API for tools: :func:`open` an image (a path, bytes or a binary file object), then ask the
:class:`Image` for its :meth:`~Image.info`, :meth:`~Image.validate` it, read its
:meth:`~Image.records` or one :meth:`~Image.page`, or :meth:`~Image.convert` it.
"""

__version__ = "0.1.0"

from .errors import (EnvironmentProblem, Finding, FormatError, UnsupportedError,  # noqa: E402
                     XcFormatError)
from .image import Image, Info, Page, Validation, Written, open, validate  # noqa: E402

__all__ = ["EnvironmentProblem", "Finding", "FormatError", "Image", "Info", "Page",
           "UnsupportedError", "Validation", "Written", "XcFormatError", "__version__", "open",
           "validate"]
