"""Encoders for the body's chunks (negative ids), wrappers and qemu records, with struct only.

Layouts: spec/legacy.md (chunks, wrappers, qemu records, libxl toolstack payload).
"""

from __future__ import annotations

import json
import struct

from .pages import page_content
from .spec import GuestSpec
from .variants import QEMU_XEND

XTAB_END = 0xFFFFFFFF
TMEM_POOL_PERSIST = 1


def marker(chunk_id: int) -> bytes:
    """A payload-less chunk (-1, -9, -13) or the end-of-body 0."""
    return struct.pack("<i", chunk_id)


def value_chunk(chunk_id: int, value: int) -> bytes:
    """``{i32 id; u32 pad = 0; u64 value}``."""
    return struct.pack("<iIQ", chunk_id, 0, value)


def tsc_info(spec: GuestSpec) -> bytes:
    """-7: u32 mode, u64 nsec, u32 khz, u32 incarnation, packed (note the field order)."""
    return struct.pack("<iIQII", -7, 0, 1_000_000_000 * (spec.seed % 1000 + 1), 2_400_000, 0)


def vcpu_info(spec: GuestSpec) -> bytes:
    """-2: i32 max_vcpu_id, u64 map[m/64 + 1]."""
    top = max(spec.vcpus)
    words = [0] * (top // 64 + 1)
    for vcpu in spec.vcpus:
        words[vcpu // 64] |= 1 << (vcpu % 64)
    return struct.pack(f"<ii{len(words)}Q", -2, top, *words)


def toolstack(spec: GuestSpec) -> bytes:
    """-18: u32 length + libxl's physmap payload v1.  PV guests have no physmap keys."""
    entries = []
    if spec.guest == "hvm":
        name = b"vga.vram\0"
        entry = struct.pack("<QQQI", 0xF0000000, 0xF0000000, 0x800000, len(name)) + name
        # A 64-bit libxl writes sizeof(struct) + namelen: 4 undefined tail bytes (here zero).
        entries.append(entry + (b"\0" * 4 if spec.toolstack_bits == 64 else b""))
    payload = struct.pack("<II", 1, len(entries)) + b"".join(entries)
    return struct.pack("<iI", -18, len(payload)) + payload


def tmem(spec: GuestSpec) -> bytes:
    """-5: client header, a persistent pool whose page list ends early, a non-persistent pool."""
    out = [struct.pack("<iIII", -5, 1, 16, XTAB_END), struct.pack("<IIII", 0, 0, 0, XTAB_END)]
    out.append(struct.pack("<III16s", 0, TMEM_POOL_PERSIST, 3, b"synth-tmem-pool0"))
    for index in range(2):
        out.append(struct.pack("<QQQI", 0x100 + index, 0, 0, index))
        out.append(page_content(spec.seed, 0xEEEE00 + index))
    out.append(b"\xff" * 24)                               # early end of the page list
    out.append(struct.pack("<III16s", 1, 0, 0, b"synth-tmem-pool1"))
    out.append(struct.pack("<I", XTAB_END))
    return b"".join(out)


def tmem_extra(spec: GuestSpec) -> bytes:
    """-6: {u32 pool_id; u64 oid[3]; u32 index} records, then u32 0xFFFFFFFF."""
    return struct.pack("<iIQQQII", -6, 0, 0x100, 0, 0, 1, XTAB_END)


XL_MAGIC = b"Xen saved domain, xl format\n \0 \r"
XL_BYTEORDER = 0x01020304
XL_FLAG_JSON = 1
XEND_MAGIC = b"LinuxGuestRecord"


def xl_config(spec: GuestSpec) -> bytes:
    config = {"c_info": {"type": spec.guest, "name": f"synth-{spec.seed}"},
              "b_info": {"max_vcpus": len(spec.vcpus), "max_memkb": spec.pages * 4}}
    return json.dumps(config, sort_keys=True).encode() + b"\0"


def xend_config(spec: GuestSpec) -> bytes:
    image = "(hvm (kernel /usr/lib/xen/boot/hvmloader))" if spec.guest == "hvm" \
        else "(linux (kernel /boot/vmlinuz))"
    return (f"(domain (domid 7) (name synth-{spec.seed}) (memory {max(1, spec.pages // 256)}) "
            f"(vcpus {len(spec.vcpus)}) (image {image}))").encode()


def wrapper_header(spec: GuestSpec) -> bytes:
    """The xl save-file header or the xend record header, or nothing."""
    if spec.wrapper == "xl":
        config = xl_config(spec)
        optional = struct.pack("<I", len(config)) + config
        return XL_MAGIC + struct.pack("<IIII", XL_BYTEORDER, XL_FLAG_JSON, 0, len(optional)) \
            + optional
    if spec.wrapper == "xend":
        config = xend_config(spec)
        return XEND_MAGIC + struct.pack(">i", len(config)) + config
    return b""


def qemu_record(signature: str, state: bytes) -> bytes:
    """The xend record runs to EOF; the others are length-prefixed."""
    if signature == QEMU_XEND:
        return signature.encode() + state
    return signature.encode() + struct.pack("<I", len(state)) + state
