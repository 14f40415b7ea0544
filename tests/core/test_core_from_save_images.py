"""``convert IMAGE DUMP --to core`` from independently generated legacy save images (xcformat.synth,
which shares no code with the readers): every page, the contexts, and what independent dump
readers make of the result."""

from __future__ import annotations

import hashlib

import pytest
from coredump_builders import pages_of, read_all
from kdumpfile_runner import kdumpfile_view, needs_kdumpfile
from tests.xen_tools import needs_xen_tools, run_xen

from xcformat.cli import main
from xcformat.records import GuestType, VcpuContext
from xcformat.synth import VARIANTS, GuestSpec, expected, write_legacy

def _spec(guest, variant, bits, vcpus=2):
    return GuestSpec(guest=guest, variant=variant, toolstack_bits=bits, pages=48, vcpus=vcpus,
                     batch=7)


def _valid_specs():
    """Every (guest, variant, toolstack width) synth can build, with 2 vCPUs where it can."""
    specs = []
    for guest in ("pv", "hvm"):
        for variant in VARIANTS:
            for bits in (32, 64):
                for vcpus in (2, 1):
                    try:
                        _spec(guest, variant, bits, vcpus)
                    except ValueError:
                        continue
                    specs.append((guest, variant, bits, vcpus))
                    break
    return specs


SPECS = _valid_specs()


def _convert(tmp_path, spec, *extra):
    image, dump = tmp_path / "guest.img", tmp_path / "guest.core"
    write_legacy(spec, str(image))
    assert main(["convert", str(image), str(dump), "--to", "core", "--no-progress",
                 "--guest", spec.guest, *extra]) == 0
    return dump


@pytest.mark.parametrize("guest,variant,bits,vcpus", SPECS,
                         ids=[f"{g}-{v}-{b}" for g, v, b, _ in SPECS])
def test_every_legacy_variant_becomes_a_valid_dump_with_the_final_pages(tmp_path, guest,
                                                                        variant, bits, vcpus):
    spec = _spec(guest, variant, bits, vcpus)
    want = expected(spec)
    dump = _convert(tmp_path, spec, "--drop", "verify,tmem,hvm-2007-tail")
    r, records = read_all(dump)
    got = pages_of(records)
    assert sorted(got) == list(want.data_pfns())
    assert all(got[pfn] == want.content(pfn) for pfn in got)
    contexts = [x for x in records if isinstance(x, VcpuContext)]
    if variant == "2007-hvm" and bits == 32:
        # x86_32 contexts cannot go into an EM_X86_64 dump: one zeroed slot, no vCPU online.
        assert len(contexts) == 1 and {f.message[-4:-1] for f in r.findings} == {"#56"}
        return
    assert len(contexts) == len(want.vcpus)
    assert r.findings == []
    assert records[0].guest is GuestType(guest)


def test_an_opaque_record_is_refused_unless_dropped(tmp_path, capsys):
    spec = GuestSpec(guest="pv", variant="4.5", pages=16, tmem=True)
    image = tmp_path / "tmem.img"
    write_legacy(spec, str(image))
    assert main(["convert", str(image), str(tmp_path / "out.core"), "--to", "core"]) == 1
    assert "--drop tmem" in capsys.readouterr().err
    assert not (tmp_path / "out.core").exists()


@needs_kdumpfile
@pytest.mark.parametrize("guest", ["pv", "hvm"])
def test_libkdumpfile_reads_a_converted_save_image_page_for_page(tmp_path, guest):
    spec = _spec(guest, "4.5", 64)
    want = expected(spec)
    dump = _convert(tmp_path, spec)
    pfns = list(want.data_pfns())
    seen = kdumpfile_view(dump, pfns + [max(pfns) + 1])
    assert seen["format"] == "xc_core_elf"
    for pfn in pfns:
        assert seen["pages"][str(pfn)] == hashlib.sha256(want.content(pfn)).hexdigest()
    assert seen["pages"][str(max(pfns) + 1)] is None
    assert seen["cpus"] == 2


@pytest.mark.parametrize("guest", ["pv", "hvm"])
def test_through_the_aligned_format_the_dump_is_the_same(tmp_path, guest):
    spec = _spec(guest, "4.5", 64)
    direct = _convert(tmp_path, spec)
    aligned, via = tmp_path / "guest.aligned", tmp_path / "via.core"
    assert main(["convert", str(tmp_path / "guest.img"), str(aligned), "--to", "aligned",
                 "--no-progress"]) == 0
    assert main(["convert", str(aligned), str(via), "--to", "core", "--no-progress"]) == 0
    assert via.read_bytes() == direct.read_bytes()


@needs_xen_tools
@pytest.mark.parametrize("guest", ["pv", "hvm"])
def test_a_v2_stream_written_by_xens_own_converter_becomes_the_same_dump(tmp_path, guest):
    spec = _spec(guest, "4.5", 64)
    direct = _convert(tmp_path, spec)
    v2, via = tmp_path / "guest.v2", tmp_path / "via.core"
    qemu = [] if guest == "pv" else ["--skip-qemu"]
    done = run_xen("convert-legacy-stream", "-i", tmp_path / "guest.img", "-o", v2,
                   "-w", "64", "-g", guest, *qemu)
    assert done.returncode == 0, done.stderr
    assert main(["convert", str(v2), str(via), "--to", "core", "--no-progress"]) == 0
    # Same pages, contexts and shared info; only the Xen version each reader infers may differ.
    _, ours = read_all(direct)
    _, theirs = read_all(via)
    assert pages_of(theirs) == pages_of(ours)
    assert [x for x in theirs if isinstance(x, VcpuContext)] == \
        [x for x in ours if isinstance(x, VcpuContext)]
