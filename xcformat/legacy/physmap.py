"""The libxl toolstack blob (version 1): a :class:`~xcformat.records.Physmap` as bytes.

The one reading and the one writing of the blob, for every format that stores it: legacy chunk
-18, v2's deprecated TOOLSTACK record, aligned v1's Toolstack body.  The blob is ``u32 version,
u32 count`` (``LIBXL_TOOLSTACK_V1``) and ``count`` entries
(``libxl_physmap_entry_w32/_w64``); a 64-bit libxl writes its struct's 4 bytes of tail padding
after every name (RELEASE-4.5.0 tools/libxl/libxl_dom.c, libxl__toolstack_save, fills them from
realloc, so they are kept as read).
"""

from __future__ import annotations

from ..codec import build, head
from ..records import Physmap, PhysmapEntry
from .schema import LIBXL_TOOLSTACK_V1, structs

WIDTHS = (64, 32)


class BlobError(Exception):
    """Why bytes are not a v1 blob: ``field`` and ``offset`` (within the blob) locate it."""

    def __init__(self, message: str, field: str, offset: int):
        super().__init__(message)
        self.message, self.field, self.offset = message, field, offset


def _entry(bits: int):
    return structs(bits, bits).libxl_physmap_entry


def padding(bits: int) -> int:
    """The struct padding a ``bits``-wide libxl writes after each entry's name."""
    entry = _entry(bits)
    fixed = head(entry, "namelen")
    return sum(sub.sizeof() for sub in entry.subcons[len(fixed.subcons) + 1:])


def parse(data: bytes, bits: int) -> tuple[Physmap, int]:
    """The physmap a ``bits``-wide libxl wrote at the start of ``data``, and where it ends
    (bytes may follow it); BlobError when it is not one."""
    top = LIBXL_TOOLSTACK_V1.sizeof()
    if len(data) < top:
        raise BlobError(f"libxl toolstack record of {len(data)} bytes (header is {top})",
                        "toolstack.data", 0)
    header = LIBXL_TOOLSTACK_V1.parse(data)
    if header.version != 1:
        raise BlobError(f"libxl toolstack record version {header.version}, expected 1",
                        "toolstack.version", 0)
    fixed = head(_entry(bits), "namelen")
    tail = padding(bits)
    entries = []
    pos = top
    for index in range(header.count):
        if len(data) - pos < fixed.sizeof():
            raise BlobError(f"libxl physmap entry {index} of {header.count} overruns the "
                            "record", "toolstack.entries", pos)
        entry = fixed.parse(data[pos:])
        name_at = pos + fixed.sizeof()
        end = name_at + entry.namelen
        if entry.namelen == 0 or end + tail > len(data):
            raise BlobError(f"libxl physmap entry {index}: name length {entry.namelen} is 0 "
                            "or overruns the record", "toolstack.namelen", name_at - 4)
        if data[end - 1] != 0:
            raise BlobError(f"libxl physmap entry {index}: name is not NUL-terminated",
                            "toolstack.name", name_at)
        entries.append(PhysmapEntry(entry.phys_offset, entry.start_addr, entry.size,
                                    bytes(data[name_at:end - 1]), bytes(data[end:end + tail])))
        pos = end + tail
    return Physmap(tuple(entries), blob_bits=bits), pos


def from_blob(data: bytes, bits: int | None) -> Physmap | None:
    """The physmap ``data`` is exactly, at width ``bits``; None when it is something else.
    ``bits`` None (the source does not say): the width whose entries fill ``data`` exactly,
    64 first (v2-era libxl ran 64-bit), since their padding frames the entries differently."""
    for width in (bits,) if bits else WIDTHS:
        try:
            physmap, end = parse(data, width)
        except BlobError:
            continue
        if end == len(data):
            return physmap
    return None


def to_blob(physmap: Physmap, bits: int) -> bytes:
    """The v1 blob a ``bits``-wide libxl writes for ``physmap`` (padding kept where read at
    that width, zero otherwise)."""
    entry = _entry(bits)
    pad = padding(bits)
    out = bytearray(LIBXL_TOOLSTACK_V1.build({"version": 1, "count": len(physmap.entries)}))
    for item in physmap.entries:
        name = item.name + b"\0"
        values = {"phys_offset": item.phys_offset, "start_addr": item.start_addr,
                  "size": item.size, "namelen": len(name), "name": name}
        if pad:
            values["tail_padding"] = item.padding if len(item.padding) == pad else bytes(pad)
        out += build(entry, values, "toolstack physmap entry")
    return bytes(out)
