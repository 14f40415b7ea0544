"""Every legacy variant is read and rewritten byte for byte through real files."""

import struct

import pytest

import image
from helpers import read_all, rewrite
from xcformat.formats import Hints
from xcformat.records import Checkpoint, End, GuestType, ImageHeader, PageBatch, VcpuContext

PV_HINT = Hints(guest=GuestType.PV)

VARIANTS = {
    "pv-w64-g64": (lambda: image.pv(64, 64), Hints()),
    "pv-w64-g32": (lambda: image.pv(64, 32), Hints()),
    "pv-w32-g32": (lambda: image.pv(32, 32), Hints()),
    "pv-w32-g64": (lambda: image.pv(32, 64), Hints()),
    "pv-3.2-no-xcnt": (lambda: image.pv(64, 64, ext=("vcpu", "extv")), Hints()),
    "pv-2007-no-ext-info-mfn-xtab": (
        lambda: image.pv(64, 64, ext=(), chunks=False, xtab=0xF0012345), PV_HINT),
    "pv-2007-w32-no-ext-info": (lambda: image.pv(32, 32, ext=(), chunks=False), PV_HINT),
    "pv-2007-pae-ext-info": (lambda: image.pv(32, 32, ext=("vcpu",), chunks=False), Hints()),
    "pv-remus-3-checkpoints": (lambda: image.pv(64, 64, checkpoints=3), Hints()),
    "hvm-w64": (lambda: image.hvm(64), Hints()),
    "hvm-w32": (lambda: image.hvm(32), Hints()),
    "hvm-no-qemu": (lambda: image.hvm(64, qemu=None), Hints()),
    "hvm-qemu-xend": (lambda: image.hvm(64, qemu=b"QemuDeviceModelRecord"), Hints()),
    "hvm-remus": (lambda: image.hvm(32, checkpoints=2, qemu=b"RemusDeviceModelState"), Hints()),
    "hvm-2007-dev": (lambda: image.hvm(32, dev2007=True, qemu=b"QemuDeviceModelRecord"),
                     Hints(guest=GuestType.HVM)),
    "pv-tmem": (lambda: image.pv(64, 64, before=image.tmem(pages=2)), Hints()),
    "pv-verify-mode": (lambda: image.pv(32, 32, before=b"\xff\xff\xff\xff"), Hints()),
    "hvm-all-value-chunks": (lambda: image.hvm(64, before=b"".join(
        struct.pack("<iIQ", cid, 0, 1) for cid in (-14, -4, -15, -16, -17, -8, -10, -11))),
        Hints()),
    "xl-hvm": (lambda: image.xl(image.hvm(64)), Hints()),
    "xl-pv-json": (lambda: image.xl(image.pv(64, 64), b"{}", mandatory=1), Hints()),
    "xend-pv": (lambda: image.xend(image.pv(32, 32)), Hints()),
    "xend-hvm": (lambda: image.xend(image.hvm(32, qemu=b"QemuDeviceModelRecord")), Hints()),
}


@pytest.mark.parametrize("name", VARIANTS)
def test_rewrite_is_byte_identical(tmp_path, name):
    build, hints = VARIANTS[name]
    original = bytes(build())
    (tmp_path / "in").write_bytes(original)
    reader = rewrite(tmp_path / "in", tmp_path / "out", hints)
    assert (tmp_path / "out").read_bytes() == original
    assert not [f for f in reader.findings if f.level == "error"]


@pytest.mark.parametrize("w,g", [(32, 32), (32, 64), (64, 32), (64, 64)])
def test_pv_header_states_both_widths_and_the_tail_has_each_online_vcpu(tmp_path, w, g):
    (tmp_path / "in").write_bytes(bytes(image.pv(w, g, vcpus=(0, 2))))
    records, summary, _ = read_all(tmp_path / "in")
    header = next(r for r in records if isinstance(r, ImageHeader))
    assert (header.guest, header.toolstack_bits, header.guest_bits) == (GuestType.PV, w, g)
    assert [r.vcpu_id for r in records if isinstance(r, VcpuContext)] == [0, 2]
    assert sum(r.data_pages for r in records if isinstance(r, PageBatch)) == 5
    assert summary["variant"] == "pv" and summary["min_xen_version"] == "4.2"
    assert isinstance(records[-1], End)


def test_remus_checkpoints_are_separated_by_checkpoint_records(tmp_path):
    (tmp_path / "in").write_bytes(bytes(image.pv(64, 64, checkpoints=3)))
    records, summary, _ = read_all(tmp_path / "in")
    assert sum(isinstance(r, Checkpoint) for r in records) == 2
    assert summary["checkpoints"] == 3
    assert summary["min_xen_version"] == "4.2"


def test_hvm_summary_counts_vcpus_from_the_hvm_context(tmp_path):
    (tmp_path / "in").write_bytes(bytes(image.hvm(64)))
    _, summary, _ = read_all(tmp_path / "in")
    assert summary["vcpus"] == 2
    assert summary["variant"] == "hvm"
    assert summary["min_xen_version"] == "4.5"       # -19/-20
    assert summary["chunks"]["-19 HVM_IOREQ_SERVER_PFN"] == 1
