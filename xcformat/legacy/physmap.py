"""The libxl physmap (toolstack chunk -18, version 1) in other shapes.

A 64-bit libxl writes 4 bytes of struct padding after every entry, so the record depends on the
toolstack width; libxl's v2 stream carries the same facts as xenstore keys
``physmap/<phys_offset hex>/{start_addr,size,name}`` (EMULATOR_XENSTORE_DATA).
"""

from __future__ import annotations

from ..codec import head
from ..errors import UnsupportedError
from .schema import LIBXL_TOOLSTACK_V1, structs

FIELDS = ("start_addr", "size", "name")


def _entry(bits: int):
    """The physmap entry of a ``bits``-wide libxl, and its fixed head (up to namelen)."""
    entry = structs(bits, bits).libxl_physmap_entry
    return entry, head(entry, "namelen")


def padding(bits: int) -> int:
    """The struct padding a ``bits``-wide libxl writes after each entry's name."""
    entry, fixed = _entry(bits)
    return sum(sub.sizeof() for sub in entry.subcons[len(fixed.subcons) + 1:])


def repad(data: bytes, from_bits: int, to_bits: int) -> bytes:
    """A v1 physmap record re-laid for another libxl width; anything else is left as it is."""
    top = LIBXL_TOOLSTACK_V1.sizeof()
    if len(data) < top or LIBXL_TOOLSTACK_V1.parse(data).version != 1:
        return data
    count = LIBXL_TOOLSTACK_V1.parse(data).count
    old_pad, new_pad = padding(from_bits), padding(to_bits)
    fixed = _entry(from_bits)[1]
    out, pos = bytearray(data[:top]), top
    for _ in range(count):
        if pos + fixed.sizeof() > len(data):
            return data
        end = pos + fixed.sizeof() + fixed.parse(data[pos:]).namelen
        if end + old_pad > len(data):
            return data
        out += data[pos:end] + bytes(new_pad)
        pos = end + old_pad
    return bytes(out + data[pos:])


def from_xenstore(data: bytes, toolstack_bits: int) -> bytes:
    """The v1 physmap record holding the ``physmap/...`` keys of packed NUL-terminated
    key/value strings; UnsupportedError for any other key (legacy has nowhere to put it)."""
    words = data.split(b"\0")
    if words[-1:] == [b""]:
        words.pop()
    if len(words) % 2:
        raise UnsupportedError("emulator xenstore data is not key/value pairs")
    entries: dict[int, dict[str, bytes]] = {}
    for key, value in zip(words[0::2], words[1::2]):
        parts = key.split(b"/")
        if len(parts) != 3 or parts[0] != b"physmap" or parts[2].decode() not in FIELDS:
            raise UnsupportedError(f"emulator xenstore key {key.decode(errors='replace')!r} "
                                   "has no legacy equivalent (only physmap keys do)")
        entries.setdefault(int(parts[1], 16), {})[parts[2].decode()] = value
    entry = _entry(toolstack_bits)[0]
    pad = bytes(padding(toolstack_bits))
    out = bytearray(LIBXL_TOOLSTACK_V1.build({"version": 1, "count": len(entries)}))
    for phys, fields in entries.items():
        if set(fields) != set(FIELDS):
            raise UnsupportedError(f"physmap/{phys:x} lacks one of {', '.join(FIELDS)}")
        name = fields["name"] + b"\0"
        out += entry.build({"phys_offset": phys, "start_addr": int(fields["start_addr"], 16),
                            "size": int(fields["size"], 16), "namelen": len(name),
                            "name": name, "tail_padding": pad})
    return bytes(out)
