"""Readers that only know the legacy stream stop at once on an aligned file.

Two checks: a model of the first steps of libxc 4.5's restore, written from
``RELEASE-4.5.0:tools/libxc/xc_domain_restore.c`` (xc_domain_restore, load_p2m_frame_list;
docs/reference/recognising.rst), for both toolstack widths and both guest types; and the Xen project's own converter and
verifier, as tests/xen_tools.py finds them.
"""

from __future__ import annotations

import struct

import pytest

from conftest import hvm_records, write_aligned
from tests.xen_tools import needs_xen_tools, run_xen


def libxc_45_restore_start(data: bytes, width: int, hvm: bool) -> str:
    """How libxc 4.5's restore ends its first steps on ``data`` (C unsigned arithmetic)."""
    ulong = {4: "<I", 8: "<Q"}[width]
    wrap = 1 << (8 * width)
    pos = 0

    def read(fmt):
        nonlocal pos
        value = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return value[0]

    p2m_size = read(ulong)
    if hvm:
        # calloc(p2m_size, sizeof(xen_pfn_t)) fails when the product overflows size_t.
        return "calloc fails" if p2m_size * width >= wrap else "continues"
    signature = read(ulong)
    if signature != wrap - 1:
        entries = ((p2m_size + 4096 // width - 1) % wrap) // (4096 // width)
        return "reads into a zero-sized frame list" if entries == 0 else "continues"
    total = read("<I")
    while total:
        read("4s")
        size = read("<I")
        if total < (size + 8) % (1 << 32):
            return f"stops at ext-info block header ending at {pos}"
        total = (total - 8 - size) % (1 << 32)
        pos += size
    return "continues"


@pytest.mark.parametrize("width", [4, 8])
@pytest.mark.parametrize("hvm", [False, True])
def test_libxc_45_restore_stops_within_the_header_block(tmp_path, width, hvm):
    data = write_aligned(tmp_path / "img", hvm_records())
    verdict = libxc_45_restore_start(data, width, hvm)
    if hvm:
        assert verdict == "calloc fails"
    else:
        assert verdict.startswith("stops at ext-info block header")
        assert int(verdict.rsplit(" ", 1)[1]) <= 4096


def test_the_model_lets_a_legacy_ext_info_block_through():
    """The model is not trivially 'stop': a well-formed 64-bit PV start continues."""
    legacy = struct.pack("<QQI4sI", 4, 2**64 - 1, 8 + 5168, b"vcpu", 5168) + bytes(5168)
    assert libxc_45_restore_start(legacy + bytes(64), 8, False) == "continues"


@needs_xen_tools
@pytest.mark.parametrize("width", ["32", "64"])
@pytest.mark.parametrize("guest", ["pv", "hvm"])
def test_xen_convert_legacy_stream_refuses_an_aligned_file(tmp_path, width, guest):
    image = tmp_path / "img"
    write_aligned(image, hvm_records())
    result = run_xen("convert-legacy-stream", "-i", image, "-o", tmp_path / "out",
                     "-w", width, "-g", guest)
    assert result.returncode == 1
    assert "StreamError" in result.stderr
    expected = "Unrecognised extended block" if guest == "pv" else "exceeded MAX_BATCH"
    assert expected in result.stderr


@needs_xen_tools
def test_xen_verify_stream_v2_rejects_an_aligned_file(tmp_path):
    image = tmp_path / "img"
    write_aligned(image, hvm_records())
    result = run_xen("verify-stream-v2", "-i", image)
    assert result.returncode == 1 and "Bad image id" in result.stderr
