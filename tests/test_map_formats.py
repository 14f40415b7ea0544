"""``xcformat map`` on real images of every format this build reads: the regions a reader reports
must tile the file exactly, and the page data must add up to the pages the image holds."""

import contextlib
import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from xcformat.cli import main
from xcformat.synth import VARIANTS, GuestSpec, expected, write_legacy
from xcformat.testing import legacy_images, mutations


def legacy_specs():
    for variant, info in VARIANTS.items():
        for guest in info.guests:
            for bits in (32, 64):
                try:
                    yield GuestSpec(guest=guest, variant=variant, toolstack_bits=bits, pages=40,
                                    batch=16, vcpus=1, seed=7)
                except ValueError:
                    continue   # a combination this variant never wrote


SPECS = list(legacy_specs())


@pytest.mark.parametrize("spec", SPECS, ids=[f"{s.variant}-{s.guest}-w{s.toolstack_bits}"
                                             for s in SPECS])
def test_legacy_regions_tile_the_file_and_page_data_matches_the_pages(spec, tmp_path, capsys):
    path = tmp_path / "image"
    write_legacy(spec, path)
    facts = expected(spec)
    code = main(["map", str(path), "--json", "--all", "--guest", spec.guest,
                 "--width", str(spec.toolstack_bits)])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["error"] is None
    regions = data["regions"]
    assert regions[0]["offset"] == 0
    for before, after in zip(regions, regions[1:]):
        assert before["offset"] + before["length"] == after["offset"], (before, after)
    assert regions[-1]["offset"] + regions[-1]["length"] == facts.size
    assert data["summary"]["bytes_by_kind"]["page-data"] == 4096 * facts.page_records
    assert data["summary"]["unaccounted"] == {"gaps": [], "gap_bytes": 0, "overlaps": 0,
                                              "trailing_bytes": 0}
    batch_headers = [r for r in regions if r["kind"] == "batch-header"]
    assert len(batch_headers) == facts.batches


def test_first_page_of_a_legacy_image_lands_right_after_its_batch_header(tmp_path, capsys):
    # 64-bit tools, 4.5 layout: page data follows the batch header straight away, unaligned
    spec = GuestSpec(guest="hvm", variant="4.5", toolstack_bits=64, pages=40, batch=16)
    path = tmp_path / "image"
    write_legacy(spec, path)
    main(["map", str(path), "--json"])
    data = json.loads(capsys.readouterr().out)
    first_header = next(r for r in data["regions"] if r["kind"] == "batch-header")
    first_pages = next(r for r in data["regions"] if r["kind"] == "page-data")
    assert first_header["offset"] == expected(spec).first_batch_offset
    assert first_pages["offset"] == first_header["offset"] + 4 + 8 * 16
    assert data["summary"]["page_data"]["aligned"] == 0


CONVERSIONS = [("aligned", []), ("v2", []), ("v2", ["--align"]), ("core", [])]


@pytest.mark.parametrize("target,options", CONVERSIONS,
                         ids=[t + "".join(o) for t, o in CONVERSIONS])
def test_converted_images_are_mapped_completely(target, options, tmp_path, capsys):
    # Xen 3.2 layout: a PV guest with several vCPUs' worth of tail, in batches of 64 pages
    spec = GuestSpec(guest="pv", variant="3.2", toolstack_bits=64, pages=300, batch=64,
                     vcpus=2, seed=3)
    source, out = tmp_path / "image", tmp_path / f"image.{target}"
    write_legacy(spec, source)
    assert main(["convert", str(source), str(out), "--to", target, *options,
                 "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["map", str(out), "--json", "--all"]) == 0
    data = json.loads(capsys.readouterr().out)
    regions = data["regions"]
    assert data["format"] == target
    for before, after in zip(regions, regions[1:]):
        assert before["offset"] + before["length"] == after["offset"], (before, after)
    assert regions[-1]["offset"] + regions[-1]["length"] == out.stat().st_size
    page_data = data["summary"]["page_data"]
    assert page_data["pages"] >= 300
    if target == "aligned" or options == ["--align"]:
        assert page_data["misaligned"] == 0


FIXTURES = Path(__file__).resolve().parent / "v2" / "fixtures"


@pytest.mark.parametrize("name", ["xen-converted-pv.v2", "xen-converted-hvm.libxl"])
def test_streams_written_by_xens_own_converter_are_mapped_completely(name, capsys):
    path = FIXTURES / name
    assert main(["map", str(path), "--json", "--all"]) == 0
    data = json.loads(capsys.readouterr().out)
    regions = data["regions"]
    assert data["format"] == "v2"
    for before, after in zip(regions, regions[1:]):
        assert before["offset"] + before["length"] == after["offset"], (before, after)
    assert regions[-1]["offset"] + regions[-1]["length"] == path.stat().st_size
    # Xen's converter writes no padding: page data follows its PAGE_DATA header unaligned
    assert data["summary"]["page_data"]["regions"] > 0
    assert data["summary"]["page_data"]["misaligned"] > 0


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(image=legacy_images(max_pages=8).flatmap(mutations))
def test_map_of_a_hostile_image_is_json_and_an_exit_status_never_a_crash(image, tmp_path_factory):
    path = tmp_path_factory.mktemp("hostile") / "image"
    path.write_bytes(image)
    with contextlib.redirect_stdout(io.StringIO()) as out, \
            contextlib.redirect_stderr(io.StringIO()):
        code = main(["map", str(path), "--json", "--guest", "pv", "--width", "64"])
    if code == 2:   # a usage error: the hints contradict what the (mutated) bytes say
        return
    assert code in (0, 1)
    data = json.loads(out.getvalue())
    if code == 0 and data["format"] is not None:
        assert data["error"] is None
    regions = data["regions"]
    assert all(r["offset"] + r["length"] <= len(image) for r in regions if r["kind"] != "repeat")
