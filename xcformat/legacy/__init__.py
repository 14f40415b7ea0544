"""The legacy Xen save stream (Xen 3.0 -> 4.5), with its xl and xend file wrappers.

The layouts are in spec/legacy.md.  :mod:`.schema` declares every structure, :mod:`.sniff`
recognises the format, :mod:`.reader` streams records out of an image and :mod:`.writer` turns
records back into bytes (byte-identical for records read from a legacy image).
"""

from ..formats import Format
from .reader import LegacyReader
from .sniff import sniff
from .writer import LegacyWriter

FORMAT = Format(
    name="legacy",
    description="legacy Xen save stream (Xen 3.0 to 4.5; xl and xend save files)",
    sniff=sniff,
    reader=LegacyReader,
    writer=LegacyWriter,
)
