"""Tiny images that name a huge pfn or vCPU id cost memory in proportion to what they hold.

Each command runs in its own process under a 1 GiB address-space limit and a 20 s deadline (as
the fuzz audit runs them) and must end cleanly: exit 0 with a small, valid output, or exit 1 with
a message that says what is wrong.  Before pfn-indexed structures became sparse, converting the
first image to a core dump took 4 GB and over 2 minutes.
"""

from __future__ import annotations

import struct
import sys

import pytest

from xcformat import synth
from xcformat.formats import get
from xcformat.testing import read_records, v2_bytes
from xcformat.testing.audit.limited import run_limited

MEMORY = 1 << 30
TOP_LEGACY_PFN = 0x0FFFFFFE       # the highest a legacy entry's 28 pfn bits allow below p2m_size
TOP_V2_PFN = 0xFFFFFFFE           # v2 has 52 pfn bits; our readers take pfns below 2^32


def xcformat(*argv) -> tuple[int, str]:
    done = run_limited([sys.executable, "-m", "xcformat", *map(str, argv)], memory=MEMORY,
                       timeout=20)
    assert done.code is not None, f"{argv}: over 20 s"
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr, done.stderr
    return done.code, done.stderr


def repoint_page(path, fmt: str, pfn_bits: int, old: int, new: int) -> None:
    """Make the batch entry for data pfn ``old`` name pfn ``new`` instead (type bits kept)."""
    regions = []
    read_records(path, get(fmt), on_region=regions.append)
    data = bytearray(path.read_bytes())
    mask = (1 << pfn_bits) - 1
    for region in regions:
        if region.kind != "batch-header":
            continue
        for at in range(region.offset, region.offset + region.length - 7, 4):
            (entry,) = struct.unpack_from("<Q", data, at)
            if entry & mask == old and entry >> pfn_bits == 0:
                struct.pack_into("<Q", data, at, new)
                path.write_bytes(bytes(data))
                return
    raise AssertionError(f"no entry for pfn {old}")


@pytest.fixture(scope="module")
def legacy_top_pfn(tmp_path_factory):
    """A legacy HVM image (75 KB) with p2m_size 0x0fffffff and a page at pfn 0x0ffffffe."""
    path = tmp_path_factory.mktemp("top") / "hvm.img"
    path.write_bytes(synth.legacy_bytes(synth.GuestSpec(guest="hvm", pages=16,
                                                        p2m_size=TOP_LEGACY_PFN + 1)))
    repoint_page(path, "legacy", 28, 5, TOP_LEGACY_PFN)
    return path


@pytest.fixture(scope="module")
def v2_top_pfn(tmp_path_factory):
    """A v2 HVM stream with a page at pfn 0xfffffffe (a flat location array: 32 GiB)."""
    path = tmp_path_factory.mktemp("top") / "hvm.v2"
    path.write_bytes(v2_bytes(synth.GuestSpec(guest="hvm", pages=16)))
    repoint_page(path, "v2", 52, 5, TOP_V2_PFN)
    return path


def test_the_huge_pfn_image_is_valid_and_every_reading_command_is_cheap(legacy_top_pfn):
    assert xcformat("validate", legacy_top_pfn)[0] == 0
    for argv in (("info", legacy_top_pfn), ("map", legacy_top_pfn, "--json")):
        assert xcformat(*argv)[0] == 0
    out = legacy_top_pfn.with_suffix(".page")
    assert xcformat("page", legacy_top_pfn, "--pfn", hex(TOP_LEGACY_PFN), "-o", out)[0] == 0
    assert out.stat().st_size == 4096


@pytest.mark.parametrize("target", ["core", "aligned", "v2", "legacy"])
def test_a_page_at_the_top_pfn_converts_in_little_memory(legacy_top_pfn, target, tmp_path):
    out = tmp_path / f"out.{target}"
    code, said = xcformat("convert", legacy_top_pfn, out, "--to", target, "--no-progress",
                          "--drop", "tsc,toolstack,emulator,hvm-params"
                          if target != "legacy" else "tsc")
    assert code == 0, said
    assert out.stat().st_size < 2 * legacy_top_pfn.stat().st_size
    assert xcformat("validate", out)[0] == 0
    page = tmp_path / "page"
    assert xcformat("page", out, "--pfn", hex(TOP_LEGACY_PFN), "-o", page)[0] == 0
    want = tmp_path / "want"
    xcformat("page", legacy_top_pfn, "--pfn", hex(TOP_LEGACY_PFN), "-o", want)
    assert page.read_bytes() == want.read_bytes()


def test_a_v2_page_at_pfn_2_to_the_32_minus_2_becomes_a_small_core_dump(v2_top_pfn, tmp_path):
    out = tmp_path / "out.core"
    code, said = xcformat("convert", v2_top_pfn, out, "--to", "core", "--no-progress")
    assert code == 0, said
    assert out.stat().st_size < 2 * v2_top_pfn.stat().st_size
    assert xcformat("validate", out)[0] == 0


def test_a_v2_page_beyond_legacy_pfns_is_refused_by_the_legacy_writer_with_a_reason(
        v2_top_pfn, tmp_path):
    out = tmp_path / "out.legacy"
    code, said = xcformat("convert", v2_top_pfn, out, "--to", "legacy", "--no-progress",
                          "--drop", "tsc,emulator")
    assert code == 1 and str(v2_top_pfn) in said and not out.exists()
    assert "pfn" in said, said


@pytest.fixture(scope="module")
def aligned_huge_vcpu_id(tmp_path_factory):
    """An aligned image whose VcpuInfo says the highest vCPU id is 2^31 - 1."""
    folder = tmp_path_factory.mktemp("vcpu")
    legacy, path = folder / "pv.img", folder / "pv.aligned"
    legacy.write_bytes(synth.legacy_bytes(synth.GuestSpec(pages=20, vcpus=2)))
    code, said = xcformat("convert", legacy, path, "--to", "aligned", "--no-progress",
                          "--drop", "tsc,toolstack")
    assert code == 0, said
    regions = []
    read_records(path, get("aligned"), on_region=regions.append)
    (info,) = [r for r in regions if r.label == "VcpuInfo"]
    data = bytearray(path.read_bytes())
    struct.pack_into("<i", data, info.offset + 16, 0x7FFFFFFF)    # after the record header
    path.write_bytes(bytes(data))
    return path


def test_a_huge_vcpu_id_is_refused_by_the_legacy_writer_not_allocated(aligned_huge_vcpu_id,
                                                                      tmp_path):
    out = tmp_path / "out.legacy"
    code, said = xcformat("convert", aligned_huge_vcpu_id, out, "--to", "legacy",
                          "--no-progress")
    assert code == 1 and not out.exists()
    assert "vCPU id 2147483647" in said and "0..4095" in said, said
