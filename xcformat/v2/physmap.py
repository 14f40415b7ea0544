"""The libxl toolstack blob (legacy chunk -18, v2 TOOLSTACK) as device-model xenstore keys.

Version 1 of the blob is ``u32 version, u32 count`` and ``count`` entries of ``u64 phys_offset,
u64 start_addr, u64 size, u32 namelen, name`` (NUL-terminated); a 64-bit libxl wrote 4 more
undefined bytes after each name (struct tail padding).  libxl 4.6+ restores the same facts from
EMULATOR_XENSTORE_DATA keys ``physmap/<phys hex>/{start_addr,size,name}`` with hex values.
Sources: ``RELEASE-4.5.0:tools/libxl/libxl_dom.c``, Xen's ``convert-legacy-stream``.
"""

from __future__ import annotations

from ..codec import head
from ..errors import FormatError
from ..legacy.physmap import padding
from ..legacy.schema import LIBXL_TOOLSTACK_V1, structs


def physmap_entries(blob: bytes, toolstack_bits: int | None) -> list[tuple[int, int, int, bytes]]:
    """``(phys_offset, start_addr, size, name)`` of each entry; FormatError when malformed."""
    if len(blob) < LIBXL_TOOLSTACK_V1.sizeof():
        raise FormatError(f"toolstack data of {len(blob)} bytes is shorter than its header",
                          field="toolstack.version")
    header = LIBXL_TOOLSTACK_V1.parse(blob)
    version, count = header.version, header.count
    if version != 1:
        raise FormatError(f"toolstack data version {version}; only libxl's version 1 is known",
                          field="toolstack.version")
    bits = toolstack_bits or 32
    junk = padding(bits)
    fixed = head(structs(bits, bits).libxl_physmap_entry, "namelen")
    entries = []
    offset = LIBXL_TOOLSTACK_V1.sizeof()
    for _ in range(count):
        if offset + fixed.sizeof() > len(blob):
            raise FormatError("physmap entry runs past the toolstack data",
                              field="toolstack.entry")
        entry = fixed.parse(blob[offset:])
        phys, start, size, namelen = entry.phys_offset, entry.start_addr, entry.size, \
            entry.namelen
        offset += fixed.sizeof()
        name = blob[offset:offset + namelen]
        if offset + namelen + junk > len(blob):
            raise FormatError("physmap name runs past the toolstack data (wrong toolstack "
                              "width?)", field="toolstack.name")
        if not namelen or not name.endswith(b"\0") or b"\0" in name[:-1]:
            raise FormatError("physmap name is missing or not NUL-terminated",
                              field="toolstack.name")
        offset += namelen + junk
        entries.append((phys, start, size, name[:-1]))
    if offset != len(blob):
        raise FormatError(f"{len(blob) - offset} bytes after the physmap entries (wrong "
                          "toolstack width?)", field="toolstack")
    return entries


def xenstore_keys(entries: list[tuple[int, int, int, bytes]]) -> bytes:
    """Packed NUL-terminated key/value strings for EMULATOR_XENSTORE_DATA."""
    out = bytearray()
    for phys, start, size, name in entries:
        root = b"physmap/%x" % phys
        for key, value in ((b"start_addr", b"%x" % start), (b"size", b"%x" % size),
                           (b"name", name)):
            out += root + b"/" + key + b"\0" + value + b"\0"
    return bytes(out)
