"""Development cross-check: the Xen project's own convert-legacy-stream and verify-stream-v2
accept our images, and every page arrives byte for byte in the v2 output.

Runs Xen's tools as tests/xen_tools.py finds them (skipped without).
"""

import struct

import pytest

from xcformat.synth import GuestSpec, expected, write_legacy

from tests.xen_tools import needs_xen_tools, run_xen as _run

pytestmark = needs_xen_tools

# What the converter supports: PV with ext-info, HVM with DeviceModelRecord0002
# or --skip-qemu, first checkpoint only, no tmem.
CASES = [
    GuestSpec(xsave=True, vcpus=(0, 2, 5), pages=300, special_pages=True, batch=128),
    GuestSpec(guest_bits=32, pages=300, vcpus=2),
    GuestSpec(toolstack_bits=32, guest_bits=32, pages=300, special_pages=True, xsave=True),
    GuestSpec(toolstack_bits=32, guest_bits=64, pages=300),
    GuestSpec(guest="hvm", pages=300, vcpus=2, special_pages=True, batch=100),
    GuestSpec(guest="hvm", toolstack_bits=32, pages=300),
    GuestSpec(variant="3.2", toolstack_bits=32, guest_bits=32, pages=300, vcpus=2),
    GuestSpec(variant="3.2", guest="hvm", pages=300),
    GuestSpec(variant="remus", pages=300, checkpoints=1),
    GuestSpec(live=True, pages=300, batch=50),
    GuestSpec(verify=True, pages=300),
    GuestSpec(guest="hvm", live=True, pages=300, special_pages=True),
]


def _v2_pages(data: bytes) -> dict[int, bytes]:
    """PAGE_DATA records of a v2 libxc stream (spec/v2.md), last copy wins."""
    pages, offset = {}, 24 + 16
    while offset < len(data):
        rtype, length = struct.unpack_from("<II", data, offset)
        body = data[offset + 8:offset + 8 + length]
        offset += 8 + ((length + 7) & ~7)
        if rtype == 0:
            break
        if rtype == 1:
            count = struct.unpack_from("<I", body)[0]
            entries = struct.unpack_from(f"<{count}Q", body, 8)
            at = 8 + 8 * count
            for entry in entries:
                if entry >> 60 in (0xD, 0xE, 0xF):
                    continue
                pages[entry & 0x000FFFFFFFFFFFFF] = body[at:at + 4096]
                at += 4096
    return pages


@pytest.mark.parametrize("spec", CASES, ids=lambda s: f"{s.variant}-{s.guest}-{s.toolstack_bits}"
                         f"-{s.guest_bits}")
def test_xen_converter_and_verifier_accept_the_image(tmp_path, spec):
    legacy, v2 = tmp_path / "legacy", tmp_path / "v2"
    write_legacy(spec, legacy)
    qemu = [] if spec.guest == "pv" or spec.qemu == "DeviceModelRecord0002" else ["--skip-qemu"]
    done = _run("convert-legacy-stream", "-i", str(legacy), "-o", str(v2),
                "-w", str(spec.toolstack_bits), "-g", spec.guest, *qemu)
    assert done.returncode == 0, done.stderr
    checked = _run("verify-stream-v2", "-i", str(v2))
    assert checked.returncode == 0, checked.stderr
    assert _v2_pages(v2.read_bytes()) == expected(spec).contents()


def test_xen_converter_refuses_remus_compression(tmp_path):
    # -12/-13 are "todo" in convert-legacy-stream (exit 2), as they must be.
    legacy = tmp_path / "legacy"
    write_legacy(GuestSpec(variant="remus", pages=40, checkpoints=2, compression=True), legacy)
    done = _run("convert-legacy-stream", "-i", str(legacy), "-o", str(tmp_path / "v2"),
                "-w", "64", "-g", "pv")
    assert done.returncode != 0
