"""``validate`` reports like ``qemu-img check``: every problem the framing lets it reach, then a
summary; the readers read on only for the validator, never for a conversion."""

from __future__ import annotations

import json
import struct

import pytest

from tests.integration.cli_runner import xcformat
from xcformat.synth import GuestSpec, write_legacy


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    where = tmp_path_factory.mktemp("val")
    legacy = where / "pv.img"
    write_legacy(GuestSpec(pages=300, vcpus=2), str(legacy))
    out = {"legacy": legacy}
    for name in ("v2", "aligned"):
        out[name] = where / f"pv.{name}"
        assert xcformat("convert", legacy, out[name], "--to", name, "--drop", "unmapped-pfns",
                        "-q").code == 0
    return out


def regions(path, word: str) -> list[dict]:
    found = json.loads(xcformat("map", path, "--json", "--all").stdout)["regions"]
    return [r for r in found if word in r["label"]]


def damaged(path, tmp_path, edits: dict[int, bytes]):
    data = bytearray(path.read_bytes())
    for at, value in edits.items():
        data[at:at + len(value)] = value
    out = tmp_path / f"bad-{path.name}"
    out.write_bytes(data)
    return out


def report(path) -> tuple[int, dict]:
    result = xcformat("validate", path, "--json")
    return result.code, json.loads(result.stdout)


def test_a_sound_image_has_a_clean_summary(images):
    code, got = report(images["v2"])
    assert code == 0 and got["valid"]
    summary = got["summary"]
    assert summary["error"] == 0 and summary["fatal"] is None
    assert summary["checked_bytes"] == summary["size"] == images["v2"].stat().st_size
    assert summary["unchecked_bytes"] == 0 and summary["seen"]["pages"] == 300


def test_v2_reads_on_past_two_damaged_records_to_the_end(images, tmp_path):
    tsc = regions(images["v2"], "X86_TSC_INFO")[0]["offset"]
    shared = regions(images["v2"], "SHARED_INFO")[0]["offset"]
    bad = damaged(images["v2"], tmp_path, {tsc + 8: b"\x09", shared: b"\x7f"})
    code, got = report(bad)
    errors = [f for f in got["findings"] if f["level"] == "error"]
    assert code == 1 and not got["valid"]
    assert [e["field"] for e in errors] == ["record X86_TSC_INFO", "record header.type"]
    assert got["summary"]["fatal"] is None and got["summary"]["error"] == 2
    assert got["summary"]["seen"]["records"]["End"] == 1       # read to the end
    text = xcformat("validate", bad).stdout.splitlines()
    assert text[-3:] == [
        text[-3], f"checked: the whole image, {text[-2].split(', ', 1)[1]}", f"{bad}: INVALID v2"]
    assert text[-3].startswith("findings: 2 errors")
    # a conversion of the same file stops at the first problem and writes nothing
    out = tmp_path / "never.img"
    assert xcformat("convert", bad, out, "--to", "legacy", "-q").code == 1
    assert not out.exists()


def test_aligned_reads_on_past_a_record_of_an_unknown_type(images, tmp_path):
    data = images["aligned"].read_bytes()
    found = json.loads(xcformat("map", images["aligned"], "--json", "--all").stdout)["regions"]
    tsc = next(r for r in found if r["label"] == "TscInfo")["offset"]
    assert struct.unpack_from("<I", data, tsc)[0] != 0x66
    code, got = report(damaged(images["aligned"], tmp_path, {tsc: b"\x66"}))
    assert code == 1
    assert got["findings"][0]["field"] == "record.type"
    assert got["summary"]["fatal"] is None
    assert got["summary"]["seen"]["records"]["End"] == 1


def test_legacy_reads_on_past_a_bad_value_and_stops_at_a_cut(images, tmp_path):
    tsc = regions(images["legacy"], "TSC")[0]["offset"]
    bad = damaged(images["legacy"], tmp_path, {tsc + 4: b"\x07"})   # tsc_mode 7
    code, got = report(bad)
    assert code == 1 and got["findings"][0]["field"] == "tsc_info.tsc_mode"
    assert got["summary"]["fatal"] is None and got["summary"]["seen"]["vcpus"] == 2
    cut = tmp_path / "cut.img"
    cut.write_bytes(bad.read_bytes()[:-5000])
    code, got = report(cut)
    summary = got["summary"]
    assert code == 1 and summary["error"] == 2 and summary["fatal"]["level"] == "error"
    assert summary["stopped_at"] == summary["checked_bytes"] < summary["size"]
    assert summary["unchecked_bytes"] == summary["size"] - summary["checked_bytes"]
    text = xcformat("validate", cut).stdout
    assert f"not checked: {summary['unchecked_bytes']} bytes from offset " in text
    assert "reading stopped at the error above" in text


def test_a_file_of_no_known_format_is_one_fatal_finding(tmp_path):
    junk = tmp_path / "junk"
    junk.write_bytes(b"hello, this is not an image at all, just text\n")
    code, got = report(junk)
    assert code == 1 and got["format"] is None
    assert got["summary"]["fatal"]["field"] == "magic" and got["summary"]["error"] == 1


def test_legacy_reports_a_frame_list_pfn_beyond_the_guest_and_reads_on(images, tmp_path):
    found = json.loads(xcformat("map", images["legacy"], "--json", "--all").stdout)["regions"]
    frames = next(r for r in found if r["kind"] == "p2m-frames")["offset"]
    tsc = regions(images["legacy"], "TSC")[0]["offset"]
    bad = damaged(images["legacy"], tmp_path, {frames: struct.pack("<Q", 0x7FFFFF),
                                               tsc + 4: b"\x07"})
    code, got = report(bad)
    errors = [f for f in got["findings"] if f["level"] == "error"]
    assert code == 1 and [e["field"] for e in errors] == ["p2m_frame_list", "tsc_info.tsc_mode"]
    assert errors[0]["offset"] == frames and "0x7fffff" in errors[0]["message"]
    assert got["summary"]["fatal"] is None and got["summary"]["seen"]["records"]["End"] == 1
    assert xcformat("info", bad).code == 1      # info never reads on
