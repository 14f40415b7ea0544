"""v2 -> legacy of a PV guest whose X86_PV_VCPU_EXTENDED records hold fewer than 128 bytes.

v2 carries the ``size`` bytes of ``struct xen_domctl_ext_vcpucontext`` the hypervisor filled in
(64 from Xen 4.10, 56 in 4.3-4.9, 40 in 4.2, 32 before; 128 in streams Xen's converter made
from legacy ones); the legacy tail always has a 128-byte slot per vCPU (xc_domain_restore.c of
4.5 reads 128 bytes into the domctl union).  A real Xen 4.17 ``xl save`` has 64.
"""

import struct

import pytest

from tests.integration.cli_runner import xcformat
from tests.xen_tools import needs_xen_tools, run_xen
from v2_helpers import read, write

from xcformat.aligned import FORMAT as ALIGNED
from xcformat.formats import Hints, WriteOptions
from xcformat.io import open_sink
from xcformat.legacy import FORMAT as LEGACY
from xcformat.records import VcpuExtended
from xcformat.testing import read_records, v2_bytes

synth = pytest.importorskip("xcformat.synth")

#: sizes Xen has used -> what wrote them
SIZES = {64: "4.10+", 56: "4.3-4.9", 40: "4.2", 32: "3.2-4.1", 128: "convert-legacy-stream"}
SPEC = synth.GuestSpec(guest="pv", variant="4.5", vcpus=2, pages=24)


def extended(vcpu: int, size: int) -> bytes:
    """The first ``size`` bytes of a context with every field set, ``size`` in its size field."""
    full = struct.pack("<IIQQHHBB2xQQQQ", vcpu, size, 0xFFFFFFFF81001000, 0xFFFFFFFF81002000,
                       0xE023, 0xE008, 1, 1, 0x1000A09, 0x11, 0x22, 0x33)
    return full.ljust(128, b"\x5a")[:size]


def v2_with_extended(tmp_path, size: int | None, wrap: str | None = "xl"):
    """A real-shaped v2 stream (in an xl file, as ``xl save`` writes it) whose EXTENDED
    records hold ``size`` bytes; ``None``: no EXTENDED record at all."""
    (tmp_path / "synth.v2").write_bytes(v2_bytes(SPEC))
    records, _ = read(tmp_path / "synth.v2")
    changed = [VcpuExtended(r.vcpu_id, extended(r.vcpu_id, size)) if isinstance(r, VcpuExtended)
               else r for r in records if size is not None or not isinstance(r, VcpuExtended)]
    write(tmp_path / "in.v2", changed, wrap=wrap)
    return tmp_path / "in.v2"


def legacy_extended(path) -> dict[int, bytes]:
    records, _, reader = read_records(path, LEGACY, Hints())
    assert [f for f in reader.findings if f.level == "error"] == []
    return {r.vcpu_id: r.data for r in records if isinstance(r, VcpuExtended)}


@pytest.mark.parametrize("size", SIZES, ids=[f"{s}-{w}" for s, w in SIZES.items()])
def test_the_extended_context_fills_the_128_byte_slot(tmp_path, size):
    source, out = v2_with_extended(tmp_path, size), tmp_path / "out.xl"
    assert xcformat("convert", source, out, "--to", "legacy", "--wrap", "xl").code == 0
    assert xcformat("validate", out).code == 0
    # the bytes v2 had, then zeros: what the saver's cleared domctl union held
    assert legacy_extended(out) == {v: extended(v, size).ljust(128, b"\0") for v in (0, 1)}


def test_without_an_extended_record_the_slot_names_the_vcpu_and_the_smallest_size(tmp_path):
    """No EXTENDED (a 4.6-4.8 header-only record, or none): vCPU id and size 32 with zeroed
    callbacks, which set_ext_vcpucontext accepts (size 0 it refuses with EINVAL)."""
    source, out = v2_with_extended(tmp_path, None), tmp_path / "out.xl"
    assert xcformat("convert", source, out, "--to", "legacy", "--wrap", "xl").code == 0
    assert xcformat("validate", out).code == 0
    assert legacy_extended(out) == {v: struct.pack("<II", v, 32).ljust(128, b"\0")
                                    for v in (0, 1)}


def test_an_extended_context_larger_than_the_slot_is_refused(tmp_path):
    (tmp_path / "synth.v2").write_bytes(v2_bytes(SPEC))
    records, _ = read(tmp_path / "synth.v2")
    big = [VcpuExtended(r.vcpu_id, bytes(136)) if isinstance(r, VcpuExtended) else r
           for r in records]
    with open_sink(str(tmp_path / "big.aligned")) as sink:
        ALIGNED.writer(sink, WriteOptions(say=lambda m: None)).write(big)
    out = tmp_path / "out"
    done = xcformat("convert", tmp_path / "big.aligned", out, "--to", "legacy")
    assert done.code == 1 and "extended context of 136 bytes" in done.stderr
    assert not out.exists()


@needs_xen_tools
@pytest.mark.parametrize("size", [64, 56])
def test_xens_converter_reads_the_slot_back(tmp_path, size):
    source, out = v2_with_extended(tmp_path, size, wrap=None), tmp_path / "out.legacy"
    assert xcformat("convert", source, out, "--to", "legacy").code == 0
    done = run_xen("convert-legacy-stream", "-i", out, "-o", tmp_path / "xen.v2",
                   "-w", "64", "-g", "pv")
    assert done.returncode == 0, done.stderr
    theirs, findings = read(tmp_path / "xen.v2")
    assert [f for f in findings if f.level == "error"] == []
    assert {r.vcpu_id: r.data for r in theirs if isinstance(r, VcpuExtended)} == \
        {v: extended(v, size).ljust(128, b"\0") for v in (0, 1)}
    verified = run_xen("verify-stream-v2", "-i", tmp_path / "xen.v2")
    assert verified.returncode == 0, verified.stderr
