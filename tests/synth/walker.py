"""A strict test-only walker of legacy images, written from the layouts (spec/legacy.md) with struct.

It shares nothing with the generator (and nothing with xcformat.legacy): it is the second,
independent reading the generator's output is checked against.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

VGC_SIZES = {2800: 4, 5168: 8}
VALUE_CHUNKS = {-3, -4, -8, -10, -11, -14, -15, -16, -17, -19, -20}
QEMU_SIGS = (b"QemuDeviceModelRecord", b"DeviceModelRecord0002", b"RemusDeviceModelState")


class Bad(Exception):
    pass


@dataclass
class Walk:
    wrapper: str | None = None
    p2m_size: int = 0
    ext_blocks: list = field(default_factory=list)
    guest_bytes: int | None = None
    frames: list = field(default_factory=list)
    chunks: list = field(default_factory=list)
    pages: dict = field(default_factory=dict)       # pfn -> bytes (last copy)
    types: dict = field(default_factory=dict)       # pfn -> type nibble of last data entry
    no_data: list = field(default_factory=list)     # (type, word) of data-less entries
    batches: int = 0
    vcpu_map: set | None = None
    tails: list = field(default_factory=list)
    qemu: list = field(default_factory=list)
    compressing: bool = False                       # after -13 and the checkpoint it ends
    pending: list = field(default_factory=list)     # compressed pfns whose pages a -12 brings


class Reader:
    def __init__(self, data: bytes, w: int):
        self.d, self.o, self.w = data, 0, w

    def take(self, n: int) -> bytes:
        if self.o + n > len(self.d):
            raise Bad(f"truncated at {self.o} wanting {n}")
        out = self.d[self.o:self.o + n]
        self.o += n
        return out

    def u(self, fmt: str):
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))[0]

    def ulong(self) -> int:
        return self.u("Q" if self.w == 8 else "I")

    def left(self) -> int:
        return len(self.d) - self.o


def walk(data: bytes, *, w: int, guest: str, hvm_tail: str = "magic", typed: bool = True) -> Walk:
    out = Walk()
    r = Reader(data, w)
    if data.startswith(b"Xen saved domain, xl format\n \0 \r"):
        r.take(32)
        assert r.u("I") == 0x01020304
        _mand, _opt, length = r.u("I"), r.u("I"), r.u("I")
        r.take(length)
        out.wrapper = "xl"
    elif data.startswith(b"LinuxGuestRecord"):
        r.take(16)
        r.take(struct.unpack(">i", r.take(4))[0])
        out.wrapper = "xend"
    out.p2m_size = r.ulong()
    if not 0 < out.p2m_size <= 0x0FFFFFFF:
        raise Bad("p2m_size")
    if guest == "pv":
        _pv_head(r, out)
    while True:
        if not _body(r, out, guest, typed):
            break
        if out.pending:
            raise Bad("compressed pages never arrived")
        _tail(r, out, guest, hvm_tail)
        out.compressing = -13 in out.chunks
        if -9 in out.chunks or not r.left():
            break
    if r.left():
        raise Bad(f"{r.left()} bytes after the end")
    return out


def _pv_head(r: Reader, out: Walk) -> None:
    first = r.ulong()
    if first == (1 << (8 * r.w)) - 1:
        tot = r.u("I")
        end = r.o + tot
        while r.o < end:
            ident, size = r.take(4), r.u("I")
            payload = r.take(size)
            out.ext_blocks.append((ident.decode(), payload))
        if r.o != end:
            raise Bad("ext-info tot")
        vcpu = dict(out.ext_blocks)["vcpu"]
        out.guest_bytes = VGC_SIZES[len(vcpu)]
        count = -(-out.p2m_size // (4096 // out.guest_bytes))
        out.frames = [r.ulong() for _ in range(count)]
    else:
        out.guest_bytes = r.w
        count = -(-out.p2m_size // (4096 // r.w))
        out.frames = [first] + [r.ulong() for _ in range(count - 1)]
    for pfn in out.frames:
        if pfn >= out.p2m_size:
            raise Bad("frame pfn")


def _body(r: Reader, out: Walk, guest: str, typed: bool) -> bool:
    """One body up to its 0; False at a clean EOF (checkpointed streams end that way)."""
    if not r.left():
        return False
    while True:
        n = r.u("i")
        if n == 0:
            return True
        if n > 0:
            if n > 1024:
                raise Bad("batch too big")
            words = [r.ulong() for _ in range(n)]
            out.batches += 1
            seen = set()
            for word in words:
                if word >> 32:
                    raise Bad("upper bits")
                kind = word >> 28 if typed else 0
                pfn = word & 0x0FFFFFFF
                if kind in (0x5, 0x6, 0x7, 0x8):
                    raise Bad("bogus type")
                if kind in (0xD, 0xE, 0xF):
                    out.no_data.append((kind, word))
                    continue
                if pfn >= out.p2m_size or pfn in seen:
                    raise Bad(f"pfn {pfn:#x}")
                if guest == "hvm" and kind:
                    raise Bad("page table type in HVM")
                seen.add(pfn)
                out.types[pfn] = kind
                if out.compressing:
                    out.pending.append(pfn)
                else:
                    out.pages[pfn] = r.take(4096)
            continue
        out.chunks.append(n)
        _chunk(r, out, n)


def _chunk(r: Reader, out: Walk, n: int) -> None:
    if n in VALUE_CHUNKS:
        if r.u("I") != 0:
            raise Bad("pad")
        r.u("Q")
    elif n == -2:
        m = r.u("i")
        if not 0 <= m < 4096:
            raise Bad("max vcpu id")
        words = [r.u("Q") for _ in range(m // 64 + 1)]
        out.vcpu_map = {i for i in range(m + 1) if words[i // 64] >> (i % 64) & 1}
    elif n == -7:
        mode = r.u("I")
        r.take(16)
        if mode > 3:
            raise Bad("tsc mode")
    elif n == -18:
        r.take(r.u("I"))
    elif n in (-9, -1, -13):
        pass
    elif n == -12:
        _decompress(r.take(r.ulong()), out)
    elif n == -5:
        r.take(12)
        r.take(16)
        while r.u("I") != 0xFFFFFFFF:           # pool_id, or the end marker
            flags, n_pages = r.u("I"), r.u("I")
            r.take(16)
            pagesize = 1 << (((flags >> 4) & 0xF) + 12)
            for _ in range(n_pages):
                oid = r.take(24)
                if oid == b"\xff" * 24:
                    break
                r.take(4 + pagesize)
    elif n == -6:
        while r.u("I") != 0xFFFFFFFF:
            r.take(28)
    else:
        raise Bad(f"chunk {n}")


def _decompress(data: bytes, out: Walk) -> None:
    """Remus "format B" against the pages already held."""
    at = 0
    while at < len(data):
        pfn = out.pending.pop(0)
        marker = data[at]
        at += 1
        if marker == 0x00:
            continue
        if marker == 0x80:
            out.pages[pfn] = data[at:at + 4096]
            at += 4096
            continue
        page, word = bytearray(out.pages[pfn]), 0
        at -= 1
        while word < 1024:
            marker, at = data[at], at + 1
            count = marker & 0x7F
            if not marker & 0x80:
                page[4 * word:4 * (word + count)] = data[at:at + 4 * count]
                at += 4 * count
            word += count
        if word != 1024:
            raise Bad("runs do not cover the page")
        out.pages[pfn] = bytes(page)


def _tail(r: Reader, out: Walk, guest: str, hvm_tail: str) -> None:
    tail = {}
    if guest == "pv":
        nu = r.u("I")
        tail["unmapped"] = [r.ulong() for _ in range(nu)]
        blocks = dict(out.ext_blocks)
        vcpus = sorted(out.vcpu_map) if out.vcpu_map is not None else [0]
        vgc = {4: 2800, 8: 5168}[out.guest_bytes]
        tail["contexts"] = {}
        for vcpu in vcpus:
            ctx = r.take(vgc)
            ext = r.take(128) if "extv" in blocks else None
            xsave = None
            if "xcnt" in blocks:
                mask, size = r.u("Q"), r.u("Q")
                xsave = (mask, r.take(size))
            tail["contexts"][vcpu] = (ctx, ext, xsave)
        tail["shared_info"] = r.take(4096)
    elif hvm_tail == "magic":
        tail["magic"] = (r.u("Q"), r.u("Q"), r.u("Q"))
        tail["hvm_context"] = r.take(r.u("I"))
    else:
        tail["hvm_context"] = r.take(r.u("I"))
        count = r.u("I")
        tail["contexts"] = []
        for _ in range(count):
            size = r.u("I")
            tail["contexts"].append(r.take(size))
        tail["shinfo_frame"] = r.u("I")
    if guest == "hvm" and r.left() >= 21 and r.d[r.o:r.o + 21] in QEMU_SIGS:
        sig = r.take(21)
        if sig == QEMU_SIGS[0]:
            out.qemu.append((sig.decode(), r.take(r.left())))
        else:
            out.qemu.append((sig.decode(), r.take(r.u("I"))))
    out.tails.append(tail)


def hvm_records(blob: bytes) -> list[tuple[int, int, bytes]]:
    records, o = [], 0
    while o < len(blob):
        typecode, instance, length = struct.unpack_from("<HHI", blob, o)
        records.append((typecode, instance, blob[o + 8:o + 8 + length]))
        o += 8 + length
        if o > len(blob):
            raise Bad("hvm record overruns")
    return records
