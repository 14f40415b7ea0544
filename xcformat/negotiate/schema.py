"""The three messages of the negotiation protocol, declared once for the code and the reference.

All integers are big-endian (network order).  Each message starts with an 8-byte magic whose
first byte is 0x89: read as the start of an image it is no legacy stream (bytes 0-3 as a
little-endian p2m_size give 0x46435889 > 2^28, and for W=8 bytes 4-7 are not zero), no
v2/libxl/xl/xend stream (docs/reference/recognising.rst lists their first bytes), so a receiver
tells a negotiating sender from an old one by its first 8 bytes.  spec/negotiation.md tells the story.
"""

from __future__ import annotations

from construct import (Const, Construct, GreedyBytes, Int8ub, Int16ub, Int32ub, Int64ub, PascalString,
                       Prefixed, PrefixedArray, Struct)

from ..schema import document

GREETING_MAGIC = b"\x89XCF-RX\n"
CHOICE_MAGIC = b"\x89XCF-TX\n"
RESULT_MAGIC = b"\x89XCF-RS\n"
MAGIC_SIZE = 8

#: The protocol revision this code speaks; a peer with a higher one talks this one with us.
PROTOCOL = 1
#: The most accept entries a greeting may carry (a v1 receiver sends at most five).
MAX_ACCEPTS = 32

_SINCE = "xcformat 0.1"
_SOURCE = "xcformat:spec/negotiation.md"

_name = PascalString(Int8ub, "ascii")
#: Room for later revisions at the end of the greeting and the choice.
_EXTENSION = "extension" / Prefixed(Int16ub, GreedyBytes) * (
    "u16 length, then fields of later revisions; revision 1 sends none and skips what it gets")


def _magic(magic: bytes, meaning: str = "") -> Construct:
    """The ``magic`` field that starts a message, documented from its bytes."""
    shown = " ".join(f"{byte:02X}" for byte in magic)
    return "magic" / Const(magic) * (f"`{shown}` (`{repr(magic)[2:-1]}`)" + meaning)

ACCEPT = document("negotiate", "accept", Struct(
    "format" / _name * "u8 length, then a format name (ASCII) as in xcformat's format "
                       "registry: `aligned`, `v2`, `legacy`",
    "align" / Int8ub * "1: the format's page-aligned variant (`--align`, e.g. v2 sized into "
                       "4 KiB-aligned batches); 0: the plain one",
    "min_version" / Int16ub * "the lowest version of the format the receiver reads (0 for "
                              "formats without a version, legacy)",
    "max_version" / Int16ub * "the highest version it reads",
    "features" / Int32ub * "the format's feature bits the receiver understands; the sender "
                           "uses no other bit",
), title="Accept entry", since=_SINCE, source=_SOURCE,
   doc="One thing a receiver accepts: a format, a variant, a version range, feature bits.")

GREETING = document("negotiate", "greeting", Struct(
    _magic(GREETING_MAGIC, ": an xcformat receiver"),
    "protocol" / Int16ub * "the highest protocol revision the receiver speaks (1)",
    "flags" / Int16ub * "protocol feature bits; none defined in revision 1, sent as 0, "
                        "ignored when unknown",
    "software" / PascalString(Int8ub, "utf8") * "u8 length, then the receiver's name and "
                                                "version (UTF-8), for messages only",
    "accepts" / PrefixedArray(Int8ub, ACCEPT) * "u8 count, then that many accept entries "
                                                "(at most 32), in no particular order",
    _EXTENSION,
), title="Greeting (receiver → sender)", since=_SINCE, source=_SOURCE,
   doc="Sent by the receiver once the sender has stayed silent for --hold seconds after "
       "connecting (a sender that talks first is an old one and is never greeted).")

CHOICE = document("negotiate", "choice", Struct(
    _magic(CHOICE_MAGIC),
    "protocol" / Int16ub * "the revision both ends use: the lower of the two",
    "format" / _name * "u8 length, then the chosen format, one of the greeting's entries; "
                       "empty: nothing in common, the sender closes after this message",
    "align" / Int8ub * "the chosen variant (as in the accept entry)",
    "version" / Int16ub * "the version of the format that follows",
    "features" / Int32ub * "the feature bits the stream uses (a subset of the entry's)",
    _EXTENSION,
), title="Choice (sender → receiver)", since=_SINCE, source=_SOURCE,
   doc="The sender's pick; the image follows immediately, then the sender shuts down its "
       "sending side.")

RESULT = document("negotiate", "result", Struct(
    _magic(RESULT_MAGIC),
    "status" / Int8ub * "0: stored; 1: refused (the stream was not what was announced, or "
                        "invalid); 2: the receiver failed (its disk, its environment)",
    "received" / Int64ub * "image bytes received after the choice message",
    "message" / PascalString(Int16ub, "utf8") * "u16 length, then one line (UTF-8) for the "
                                                "sender's user",
), title="Result (receiver → sender)", since=_SINCE, source=_SOURCE,
   doc="Sent once the image is stored (OUT published) or refused; then the receiver closes.")
