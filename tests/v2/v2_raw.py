"""Hand-built v2 bytes for the strictness tests: struct packing only, no xcformat code."""

from __future__ import annotations

import struct

PAGE = 4096


def ihdr(version=3, options=0, res1=0, res2=0) -> bytes:
    return struct.pack(">QIIHHI", 2**64 - 1, 0x58454E46, version, options, res1, res2)


def dhdr(dtype=1, page_shift=12, res=0, major=4, minor=19) -> bytes:
    return struct.pack("<IHHII", dtype, page_shift, res, major, minor)


def rec(rtype: int, body: bytes = b"", pad: bytes | None = None, length=None) -> bytes:
    pad = bytes(-len(body) % 8) if pad is None else pad
    return struct.pack("<II", rtype, len(body) if length is None else length) + body + pad


def pv_info(width=8, levels=4, res=0) -> bytes:
    return rec(0x02, struct.pack("<BBHI", width, levels, res, 0))


def p2m(end=3, frames=(0,), start=0) -> bytes:
    return rec(0x03, struct.pack("<II", start, end) + struct.pack(f"<{len(frames)}Q", *frames))


def page_data(entries, res=0, data_pages=None) -> bytes:
    raw = b"".join(struct.pack("<Q", e) for e in entries)
    if data_pages is None:
        data_pages = sum(1 for e in entries if (e >> 60) not in (0xD, 0xE, 0xF))
    return rec(0x01, struct.pack("<II", len(entries), res) + raw + bytes(PAGE * data_pages))


def vcpu(rtype=0x04, vcpu_id=0, size=5168, res=0) -> bytes:
    return rec(rtype, struct.pack("<II", vcpu_id, res) + bytes(size))


def tsc(mode=0, res=0) -> bytes:
    return rec(0x08, struct.pack("<IIQII", mode, 1000, 5, 0, res))


def hvm_context() -> bytes:
    blob = struct.pack("<HHI", 1, 0, 8) + struct.pack("<II", 0x54381286, 1) + \
        struct.pack("<HHI", 0, 0, 0)
    return rec(0x09, blob)


def hvm_params(pairs=((1, 0xFEFFF),), res=0) -> bytes:
    body = struct.pack("<II", len(pairs), res)
    for k, v in pairs:
        body += struct.pack("<QQ", k, v)
    return rec(0x0A, body)


SDE = rec(0x10)
END = rec(0x00)
SHINFO = rec(0x07, bytes(PAGE))


def pv_stream(*, version=3, middle=None) -> bytes:
    """A minimal valid PV stream; ``middle`` replaces the records between the headers and END."""
    if middle is None:
        middle = [pv_info()] + ([SDE] if version >= 3 else []) + [
            p2m(), page_data([0, 1, 2, 3]), tsc(), vcpu(), SHINFO]
    return ihdr(version) + dhdr(1) + b"".join(middle) + END


def hvm_stream(*, version=3, middle=None) -> bytes:
    if middle is None:
        middle = ([SDE] if version >= 3 else []) + [
            page_data([0, 1, 2]), tsc(), hvm_params(), hvm_context()]
    return ihdr(version) + dhdr(2) + b"".join(middle) + END
