"""The legacy Xen save stream (Xen 3.0 -> 4.5), with its xl and xend file wrappers.

The layouts are in spec/legacy.md.  :mod:`.schema` declares every structure, :mod:`.sniff`
recognises the format, :mod:`.reader` streams records out of an image and :mod:`.writer` turns
records back into bytes (byte-identical for records read from a legacy image).
"""

from ..formats import Capabilities, Format, deferred
from .options import LegacyOptions
from .sniff import sniff
from .wrappers import READERS as WRAPPERS

#: A legacy stream has no version number; its own option is the toolstack width it is written at.
CAPABILITIES = Capabilities(
    noun="legacy streams",
    aligned="batches padded with XTAB entries (and a -9 chunk at W=64) so that pages start on "
            "4 KiB boundaries",
    wraps=tuple(WRAPPERS),
    options=LegacyOptions,
)

FORMAT = Format(
    name="legacy",
    description="legacy Xen save stream (Xen 3.0 to 4.5; xl and xend save files)",
    sniff=sniff,
    reader=deferred("xcformat.legacy.reader", "LegacyReader"),
    writer=deferred("xcformat.legacy.writer", "LegacyWriter"),
    capabilities=CAPABILITIES,
)
