"""Sample record streams for the aligned tests (built by hand: no other format needed)."""

from __future__ import annotations

import os
import random

import pytest

from xcformat import records as r
from xcformat.aligned import FORMAT
from xcformat.aligned.options import AlignedOptions
from xcformat.formats import WriteOptions
from xcformat.io import open_sink
from xcformat.testing import read_records


def page(seed: int) -> bytes:
    """A distinct page, so its position in a file can be found with bytes.find."""
    return random.Random(seed).randbytes(r.PAGE_SIZE)


def batch(entries: list[tuple[int, int]], seed: int, fillers=()) -> r.PageBatch:
    """A PageBatch of (pfn, type) entries; each data page is page(seed + pfn)."""
    pfns = tuple(p for p, _ in entries)
    types = bytes(t for _, t in entries)
    data = b"".join(page(seed + p) for p, t in entries if t in r.DATA_TYPES)
    return r.PageBatch(pfns, types, memoryview(data), fillers=fillers)


def pv_records() -> list[r.Record]:
    return [
        r.Wrapper("xl", b'{"name": "guest"}\0', {"mandatory_flags": 1, "optional_flags": 0,
                                                 "byteorder": 0x01020304}),
        r.ImageHeader(r.GuestType.PV, 0x3000, 64, 64, None, r.Provenance("legacy", layout="pv")),
        r.PvExtInfo(((b"vcpu", bytes(5168)), (b"extv", b""), (b"xcnt", b"\x50\x03\0\0"))),
        r.P2MFrames((0x10, 0x11)),
        r.TscInfo(0, 123456789, 2_400_000, 1),
        batch([(p, 0) for p in range(0, 1024)], 0),
        batch([(0x2000 + p, 1 if p % 7 == 0 else 0) for p in range(333)], 0),
        batch([(5, 0), (6, 0xD), (7, 0x9)], 1000, fillers=((1, 0), (2, 0))),
        r.VcpuInfo(1, frozenset({0, 1})),
        r.Physmap((), blob_bits=64),
        r.Opaque("legacy", "last-checkpoint"),
        r.UnmappedPfns((0x2fff,)),
        r.VcpuContext(0, os.urandom(5168)), r.VcpuExtended(0, bytes(128)),
        r.VcpuXsave(0, os.urandom(832), 7),
        r.VcpuContext(1, os.urandom(5168)), r.VcpuExtended(1, bytes(128)),
        r.VcpuXsave(1, os.urandom(832), 7),
        r.SharedInfo(os.urandom(4096)),
        r.End(),
    ]


def hvm_records() -> list[r.Record]:
    return [
        r.ImageHeader(r.GuestType.HVM, 0x100000, None, 32, (4, 5),
                      r.Provenance("legacy", layout="hvm")),
        batch([(p, 0) for p in range(0xF0000, 0xF0000 + 17)] + [(0, 0xE)], 7),
        r.HvmParams(((12, 0xFEFFC000), (17, 0xFEFFF))),
        r.Physmap((r.PhysmapEntry(0xF0000000, 0xF1000000, 0x800000, b"vga.vram"),),
                  blob_bits=32),
        r.Toolstack(b"\x02\0\0\0not a physmap"),
        batch([(0xF0003, 0)], 99),
        r.HvmContext(os.urandom(300)),
        r.EmulatorContext(os.urandom(5000), 0, 0, b"DeviceModelRecord0002"),
        r.EmulatorXenstore(b"physmap/0\0x\0"),
        r.CpuPolicy("cpuid", bytes(48)),
        r.VcpuMsrs(0, bytes(16)),
        r.Checkpoint(),
        r.End(),
    ]


def write_aligned(path, records, index: bool = True) -> bytes:
    with open_sink(str(path)) as sink:
        options = WriteOptions(format_options=AlignedOptions(index=index))
        FORMAT.writer(sink, options).write(records)
    return path.read_bytes()


def read_aligned(path, on_region=None) -> list[r.Record]:
    """Every record, with page data copied (views die with the next record)."""
    return read_records(path, FORMAT, on_region=on_region)[0]


def same_records(a: list[r.Record], b: list[r.Record]) -> bool:
    def norm(record):
        if isinstance(record, r.PageBatch):
            return ("batch", record.pfns, record.types, bytes(record.data), record.gmfns)
        return record
    return [norm(x) for x in a] == [norm(x) for x in b]


@pytest.fixture(params=["pv", "hvm"])
def sample(request):
    return {"pv": pv_records, "hvm": hvm_records}[request.param]()
