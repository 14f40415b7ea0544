"""The legacy reader and writer against xcformat.synth, an independent struct-based writer.

Every variant, width, wrapper and qemu record: what the reader finds must equal what
``synth.expected`` says a correct reader finds, and rewriting must give the same bytes.
"""

from __future__ import annotations

import os
import struct

import pytest
from hypothesis import HealthCheck, given, settings

from helpers import final_pages, hints_for, read_all, rewrite
from xcformat.records import EmulatorContext, PageBatch, PvExtInfo, VcpuContext
from xcformat.synth import GuestSpec, expected, legacy_bytes
from xcformat.synth.variants import version_key
from xcformat.testing import spec_images

def small(**fields) -> GuestSpec:
    return GuestSpec(pages=24, **fields)


SPECS = {
    "4.5-pv-64-64-xsave-xl": small(xsave=True, wrapper="xl", vcpus=3, special_pages=True),
    "4.5-pv-64-32": small(guest_bits=32, vcpus=(0, 2)),
    "4.5-pv-32-32-tmem": small(toolstack_bits=32, tmem=True),
    "4.5-pv-32-64": small(toolstack_bits=32, guest_bits=64),
    "4.5-pv-many-vcpus": small(vcpus=(0, 70)),
    "4.5-hvm-64-xl-broken-xalloc": small(guest="hvm", wrapper="xl", special_pages=True,
                                             vcpus=2),
    "4.5-hvm-32-no-qemu": small(guest="hvm", toolstack_bits=32, qemu=None),
    "4.5-hvm-qemu-xend": small(guest="hvm", qemu="QemuDeviceModelRecord"),
    "remus-pv-xend": small(variant="remus", wrapper="xend", checkpoints=3),
    "remus-hvm": small(variant="remus", guest="hvm", toolstack_bits=32),
    "3.2-pv-64-32-xtab-mfn-bits": small(variant="3.2", guest_bits=32),
    "3.2-hvm-xend": small(variant="3.2", guest="hvm", wrapper="xend"),
    "3.1-pv-pae": small(variant="3.1", toolstack_bits=32, vcpus=2),
    "3.1-pv-64": small(variant="3.1"),
    "3.1-hvm": small(variant="3.1", guest="hvm", toolstack_bits=32),
    "3.0.4-pae": small(variant="3.0.4-pae", toolstack_bits=32),
    "3.0-pv-64": small(variant="3.0"),
    "3.0-pv-32-xend": small(variant="3.0", toolstack_bits=32, wrapper="xend"),
    "2007-hvm": small(variant="2007-hvm", guest="hvm"),
    "2007-hvm-32-xend": small(variant="2007-hvm", guest="hvm", toolstack_bits=32,
                                  wrapper="xend"),
}


def check_against_synth(tmp_path, spec: GuestSpec, data: bytes) -> None:
    want = expected(spec)
    path = tmp_path / "in.img"
    path.write_bytes(data)
    records, summary, findings = read_all(path, hints_for(spec))
    assert not [f for f in findings if f.level == "error"]
    header = records[1 if spec.wrapper else 0]
    assert header.guest.value == want.guest
    assert (header.toolstack_bits, header.guest_bits) == (want.toolstack_bits, want.guest_bits)
    assert header.p2m_size == want.p2m_size
    batches = [r for r in records if isinstance(r, PageBatch)]
    assert sum(b.data_pages for b in batches) == want.page_records
    assert len(batches) == want.batches
    assert final_pages(records) == want.contents()
    assert summary["min_xen_version"] == want.min_xen_version
    if summary["predates_xen"] and not want.xen.startswith("unreleased"):
        newest_writer = want.xen.split("-")[-1]
        assert version_key(newest_writer) < version_key(summary["predates_xen"])
    assert summary["checkpoints"] == want.checkpoints
    counts = {}
    for cid in want.chunks:
        counts[cid] = counts.get(cid, 0) + 1
    assert {int(k.split()[0]): n for k, n in summary["chunks"].items()} == counts
    ext = next((r for r in records if isinstance(r, PvExtInfo)), None)
    assert (tuple(b.decode() for b, _ in ext.blocks) if ext else ()) == want.ext_info
    if spec.guest == "pv":
        contexts = [r.vcpu_id for r in records if isinstance(r, VcpuContext)]
        assert sorted(set(contexts)) == list(want.vcpus)
    else:
        assert summary["vcpus"] == len(want.vcpus)
    rewrite(path, tmp_path / "out.img", hints_for(spec))
    assert (tmp_path / "out.img").read_bytes() == data


@pytest.mark.parametrize("name", SPECS)
def test_synth_variant_reads_as_expected_and_rewrites_byte_identically(tmp_path, name):
    spec = SPECS[name]
    check_against_synth(tmp_path, spec, legacy_bytes(spec))


#: A longer run: XCFORMAT_SYNTH_EXAMPLES=600 pytest tests/legacy/test_legacy_synth.py
EXAMPLES = int(os.environ.get("XCFORMAT_SYNTH_EXAMPLES", "60"))


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=spec_images(max_pages=24, max_vcpus=3))
def test_any_synthetic_image_reads_as_expected_and_rewrites_byte_identically(tmp_path, case):
    spec, data = case
    check_against_synth(tmp_path, spec, data)


def test_verify_mode_chunk_and_its_second_pass_round_trip(tmp_path):
    from helpers import marked
    image = marked(GuestSpec(toolstack_bits=32, pages=16))
    batch_end = image.at["chunk -2 VCPU_INFO"]
    second_pass = image.data[image.at["batch"]:batch_end]
    data = image.data[:batch_end] + struct.pack("<i", -1) + second_pass + image.data[batch_end:]
    (tmp_path / "in.img").write_bytes(data)
    records, summary, _ = read_all(tmp_path / "in.img")
    assert summary["chunks"]["-1 ENABLE_VERIFY_MODE"] == 1
    assert sum(isinstance(r, PageBatch) for r in records) == 2 * expected(image.spec).batches
    rewrite(tmp_path / "in.img", tmp_path / "out.img")
    assert (tmp_path / "out.img").read_bytes() == data


def test_the_specs_cover_xtab_mfn_bits_broken_xalloc_tmem_and_every_qemu_record(tmp_path):
    seen_types, xtab_junk, qemu = set(), False, set()
    for name, spec in SPECS.items():
        (tmp_path / name).write_bytes(legacy_bytes(spec))
        records, summary, _ = read_all(tmp_path / name, hints_for(spec))
        for batch in (r for r in records if isinstance(r, PageBatch)):
            # XTAB entries name no page: the reader gives them as fillers, not pfns.
            assert 0xF not in batch.types
            seen_types |= set(batch.types) | ({0xF} if batch.fillers else set())
            xtab_junk |= any(bits for _, bits in batch.fillers)
        qemu |= {r.signature for r in records if isinstance(r, EmulatorContext)}
    assert {0xD, 0xE, 0xF} <= seen_types and xtab_junk
    assert qemu == {b"DeviceModelRecord0002", b"RemusDeviceModelState", b"QemuDeviceModelRecord"}
