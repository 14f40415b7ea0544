"""The xl and xend file wrappers around a legacy stream: read and write."""

from __future__ import annotations

from ..codec import head
from ..errors import UnsupportedError
from ..records import Wrapper
from .schema import XEND_HEADER, XL_BYTEORDER, XL_CONFIG, XL_HEADER

#: A domain configuration larger than this is not a configuration.
MAX_CONFIG = 16 << 20
XL_CONFIG_LENGTH = head(XL_CONFIG, "config_length")
XEND_CONFIG_LENGTH = head(XEND_HEADER, "config_length")
#: xl mandatory flags a legacy file may carry (bit 0: JSON config, 4.5); others make xl refuse it.
XL_FLAG_JSON = 1 << 0
XL_KNOWN_MANDATORY = XL_FLAG_JSON


def read_xl(cursor) -> Wrapper:
    start = cursor.offset
    header = XL_HEADER.parse(cursor.read(XL_HEADER.sizeof(), "xl_header"))
    if header.byteorder != XL_BYTEORDER:
        raise cursor.error(f"xl byte-order word {header.byteorder:#010x}, expected "
                           f"{XL_BYTEORDER:#010x} (little-endian)", "xl_header.byteorder",
                           start + 32)
    if header.mandatory_flags & ~XL_KNOWN_MANDATORY:
        raise cursor.error(f"unknown xl mandatory flags {header.mandatory_flags:#x}",
                           "xl_header.mandatory_flags", start + 36)
    length = header.optional_data_len
    if length > MAX_CONFIG:
        raise cursor.error(f"xl optional data of {length} bytes (limit {MAX_CONFIG})",
                           "xl_header.optional_data_len", start + 44)
    optional = bytes(cursor.read(length, "xl_config"))
    fields = {"byteorder": header.byteorder, "mandatory_flags": header.mandatory_flags,
              "optional_flags": header.optional_flags, "config_framed": bool(optional),
              "optional_tail": b""}
    config = b""
    if optional:
        room = length - XL_CONFIG_LENGTH.sizeof()
        if room < 0 or XL_CONFIG_LENGTH.parse(optional).config_length > room:
            raise cursor.error("xl config length overruns the optional data",
                               "xl_config.config_length", start + 48)
        parsed = XL_CONFIG.parse(optional)
        config, fields["optional_tail"] = parsed.config, parsed.rest
    cursor.region(start, "wrapper", "xl save-file header and config")
    return Wrapper("xl", config, fields)


def read_xend(cursor) -> Wrapper:
    start = cursor.offset
    length = cursor.parse(XEND_CONFIG_LENGTH, "xend_header").config_length
    if not 0 <= length <= MAX_CONFIG:
        raise cursor.error(f"xend config length {length} (big-endian) out of range",
                           "xend_header.config_length", start + 16)
    config = bytes(cursor.read(length, "xend_header.config"))
    cursor.region(start, "wrapper", "xend LinuxGuestRecord header and config")
    return Wrapper("xend", config, {})


READERS = {"xl": read_xl, "xend": read_xend}


def encode(wrapper: Wrapper) -> bytes:
    """The bytes of ``wrapper`` as a legacy file starts with them."""
    if wrapper.kind == "xend":
        return XEND_HEADER.build({"config_length": len(wrapper.config), "config": wrapper.config})
    if wrapper.kind != "xl":
        raise UnsupportedError(f"a legacy image cannot carry a {wrapper.kind} wrapper")
    fields = wrapper.fields
    framed = fields.get("config_framed", True)
    optional = XL_CONFIG.build({"config_length": len(wrapper.config), "config": wrapper.config,
                                "rest": fields.get("optional_tail", b"")}) if framed else b""
    return XL_HEADER.build({
        "byteorder": fields.get("byteorder", XL_BYTEORDER),
        "mandatory_flags": fields.get("mandatory_flags", 0),
        "optional_flags": fields.get("optional_flags", 0),
        "optional_data_len": len(optional)}) + optional


