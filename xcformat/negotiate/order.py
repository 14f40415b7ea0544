"""The order of the messages on a negotiated connection, for the format reference
(``spec/negotiation.md`` tells the protocol)."""

from ..schema import Part, stream_order
from .schema import MAGIC_SIZE

ORDER = stream_order(
    "negotiate",
    Part("greeting (receiver → sender)", f"{MAGIC_SIZE} + 4 + 1 + software + 1 + 11·accepts "
         "+ names + 2 + extension", "greeting", offset="0x0 of the receiver's bytes",
         doc="sent once the sender has been silent for --hold seconds; a sender that talks "
             "first is an old one and is never greeted"),
    Part("choice (sender → receiver)", f"{MAGIC_SIZE} + 2 + 1 + name + 1 + 2 + 4 + 2 + "
         "extension", "choice", offset="0x0 of the sender's bytes", doc="the format, variant, version and features that follow"),
    Part("the image", "to the sender's shutdown", when="when the choice names a format",
         offset="after the choice",
         doc="in the chosen format, exactly as a file of it"),
    Part("result (receiver → sender)", f"{MAGIC_SIZE} + 1 + 8 + 2 + message", "result",
         offset="after the greeting", doc="stored, refused, or failed, with the bytes received"),
    title="Message order", source="xcformat:spec/negotiation.md",
    doc="Every integer is big-endian (network order). Offsets count from the start of the "
        "connection in each direction's own bytes: the greeting and the result flow from "
        "receiver to sender, the choice and the image the other way.")
