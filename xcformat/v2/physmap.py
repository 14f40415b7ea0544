"""libxl's physmap as v2 carries it: ``physmap/<phys_offset>/{start_addr,size,name}`` keys of
EMULATOR_XENSTORE_DATA (packed NUL-terminated key/value strings, values in lower-case hex but
the name), in the order libxl writes them (RELEASE-4.17.0
tools/libs/light/libxl_dom_save.c, libxl__save_emulator_xenstore_data).  The one reading and
the one writing of these keys, for v2 and for aligned v1's EmulatorXenstore body.
"""

from __future__ import annotations

from ..errors import UnsupportedError
from ..records import Physmap, PhysmapEntry

FIELDS = (b"start_addr", b"size", b"name")


def from_keys(data: bytes, emulator_id: int = 0, index: int = 0) -> Physmap | None:
    """The physmap the keys in ``data`` are, exactly as libxl writes them; None for anything
    else (other keys, a missing one, another spelling), which stays xenstore data."""
    words = data.split(b"\0")
    if not data or words.pop() != b"" or len(words) % 6:
        return None
    entries = []
    for at in range(0, len(words), 6):
        keys, values = words[at:at + 6:2], words[at + 1:at + 6:2]
        root = keys[0].rpartition(b"/")[0]
        if root[:8] != b"physmap/" or [root + b"/" + f for f in FIELDS] != keys:
            return None
        try:
            phys, start, size = (int(text, 16) for text in (root[8:], *values[:2]))
        except ValueError:
            return None
        entries.append(PhysmapEntry(phys, start, size, values[2]))
    physmap = Physmap(tuple(entries), emulator_id, index)
    return physmap if to_keys(physmap) == data else None


def to_keys(physmap: Physmap) -> bytes:
    """The EMULATOR_XENSTORE_DATA body (after its emulator header) holding ``physmap``."""
    out = bytearray()
    for entry in physmap.entries:
        if b"\0" in entry.name:
            raise UnsupportedError(f"physmap entry {entry.phys_offset:#x}: a name with a NUL "
                                   "inside cannot be a xenstore value")
        root = b"physmap/%x/" % entry.phys_offset
        for key, value in zip(FIELDS, (b"%x" % entry.start_addr, b"%x" % entry.size,
                                       entry.name)):
            out += root + key + b"\0" + value + b"\0"
    return bytes(out)
