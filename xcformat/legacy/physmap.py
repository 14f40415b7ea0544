"""The libxl physmap (toolstack chunk -18, version 1) in other shapes.

A 64-bit libxl writes 4 bytes of struct padding after every entry, so the record depends on the
toolstack width; libxl's v2 stream carries the same facts as xenstore keys
``physmap/<phys_offset hex>/{start_addr,size,name}`` (EMULATOR_XENSTORE_DATA).
"""

from __future__ import annotations

import struct

from ..errors import UnsupportedError

ENTRY = struct.Struct("<QQQI")      # phys_offset, start_addr, size, namelen
FIELDS = ("start_addr", "size", "name")


def repad(data: bytes, from_bits: int, to_bits: int) -> bytes:
    """A v1 physmap record re-laid for another libxl width; anything else is left as it is."""
    if len(data) < 8 or struct.unpack_from("<I", data)[0] != 1:
        return data
    count = struct.unpack_from("<I", data, 4)[0]
    old_pad, new_pad = (4 if from_bits == 64 else 0), (4 if to_bits == 64 else 0)
    out, pos = bytearray(data[:8]), 8
    for _ in range(count):
        if pos + ENTRY.size > len(data):
            return data
        end = pos + ENTRY.size + ENTRY.unpack_from(data, pos)[3]
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
    pad = bytes(4 if toolstack_bits == 64 else 0)
    out = bytearray(struct.pack("<II", 1, len(entries)))
    for phys, fields in entries.items():
        if set(fields) != set(FIELDS):
            raise UnsupportedError(f"physmap/{phys:x} lacks one of {', '.join(FIELDS)}")
        name = fields["name"] + b"\0"
        out += ENTRY.pack(phys, int(fields["start_addr"], 16), int(fields["size"], 16),
                          len(name)) + name + pad
    return bytes(out)
