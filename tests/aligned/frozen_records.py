"""The records stored in tests/aligned/frozen/: every record kind aligned v1 carries.

The files were written once by the aligned v1 writer and committed; they are never rewritten.
Change nothing here without a new format version: these records are what the frozen bytes
hold, and the test reads the files back into exactly these records.  Where a record has changed
shape since (a typed provenance for the variant text, Physmap for libxl's toolstack blob, a legacy
batch's XTAB entries as fillers), the records here are the new shape of the same bytes.
"""

from __future__ import annotations

import random

from xcformat import records as r


def _bytes(seed: int, n: int) -> bytes:
    return random.Random(seed).randbytes(n)


def _batch(entries, seed, gmfns=None, fillers=()) -> r.PageBatch:
    pfns = tuple(p for p, _ in entries)
    types = bytes(t for _, t in entries)
    data = b"".join(_bytes(seed + p, r.PAGE_SIZE) for p, t in entries if t in r.DATA_TYPES)
    return r.PageBatch(pfns, types, memoryview(data), gmfns, fillers=fillers)


def pv() -> list[r.Record]:
    """A PV guest from a legacy stream in an xl wrapper, with every PV record kind."""
    return [
        r.Wrapper("xl", b'{"name": "frozen"}\0', {
            "mandatory_flags": 1, "optional_flags": 0, "byteorder": 0x01020304,
            "config_framed": True, "optional_tail": b"\x01\x02", "note": "text",
            "absent": None}),
        r.ImageHeader(r.GuestType.PV, 0x3000, 64, 32, None,
                      r.Provenance("legacy", layout="4.1+"), 832),
        r.PvExtInfo(((b"vcpu", _bytes(1, 40)), (b"extv", b""), (b"xcnt", b"\x50\x03\0\0"))),
        r.P2MFrames((0x10, 0x11)),
        r.TscInfo(1, 123456789, 2_400_000, 3),
        # Stored as (0, 0), (1, 1), (2, 0xF), (3, 0xD)...: from a legacy source, XTAB is a filler.
        _batch([(0, 0), (1, 1), (3, 0xD), (4, 0x9), (5, 0xE)], 10, fillers=((2, 2),)),
        _batch([(7, 0), (8, 0xF), (9, 0)], 20, gmfns=(0x1234567, 0xFFFFFFFFFFFFFFFF, 0)),
        r.VcpuInfo(3, frozenset({0, 2, 3})),
        r.Physmap((), blob_bits=32),   # stored as the Toolstack blob b"\x01\0\0\0\0\0\0\0"
        r.LastCheckpoint(),
        r.UnmappedPfns((0x2fff, 0x2ffe)),
        r.VcpuContext(0, _bytes(2, 64)),
        r.VcpuExtended(0, bytes(128)),
        r.VcpuXsave(0, _bytes(3, 40), 7),
        r.VcpuXsave(2, _bytes(4, 40)),
        r.VcpuMsrs(0, bytes(16)),
        r.SharedInfo(_bytes(5, 4096)),
        r.Opaque("legacy", "tmem", b"\x00\x01"),
        r.End(),
    ]


def hvm() -> list[r.Record]:
    """An HVM guest from a v3 stream: a wide-pfn batch, emulator records, checkpoints."""
    return [
        r.ImageHeader(r.GuestType.HVM, 0x100000, None, None, (4, 14), r.Provenance("v2", 3)),
        _batch([(0xF0000, 0), (0xF0001, 0), (0, 0xE)], 30),
        _batch([(1 << 40, 0), (3, 0xE)], 40),
        r.CpuPolicy("cpuid", bytes(48)),
        r.CpuPolicy("msr", _bytes(6, 16)),
        r.HvmParams(((12, 0xFEFFC000), (17, 0xFEFFF))),
        r.HvmContext(_bytes(7, 300)),
        r.EmulatorContext(_bytes(8, 500), 1, 0),
        r.EmulatorContext(_bytes(9, 50), 0, 1, b"DeviceModelRecord0002"),
        r.EmulatorXenstore(b"physmap/0\0x\0", 0, 2),
        r.Opaque("v2", "marker"),
        r.Checkpoint(),
        r.End(),
    ]


#: File name -> (records, whether the file has an index).
FILES = {"pv-index.xcal": (pv, True), "hvm-index.xcal": (hvm, True),
         "pv-noindex.xcal": (pv, False)}
