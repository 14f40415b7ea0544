"""The v2 format through the command line, layout regions, checkpointed streams."""

import json

from v2_guests import hvm_guest, pv_guest, xl_wrapper
from v2_helpers import page_offsets, read, write
from v2_raw import pv_stream

from xcformat.cli import main
from xcformat.records import Checkpoint, EmulatorContext, End, PageBatch


def test_regions_tile_the_whole_file_and_mark_page_data(tmp_path):
    data = write(tmp_path / "a", hvm_guest(wrapper=xl_wrapper()), align=True)
    regions = []
    read(tmp_path / "a", regions)
    regions.sort(key=lambda r: r.offset)
    at = 0
    for region in regions:
        assert region.offset == at, region
        at += region.length
    assert at == len(data)
    pages = [r for r in regions if r.kind == "page-data"]
    assert pages and all(r.offset % 4096 == 0 for r in pages)
    assert {r.kind for r in regions} >= {"wrapper", "header", "batch-header", "chunk"}


def test_convert_validate_and_info_from_the_command_line(tmp_path, capsys):
    write(tmp_path / "in", pv_guest(pages=600))
    out = tmp_path / "out"
    assert main(["convert", str(tmp_path / "in"), str(out), "--to", "v2", "--align",
                 "--wrap", "libxl", "--no-progress"]) == 0
    data = out.read_bytes()
    assert data.startswith(b"LibxlFmt")
    assert all(o % 4096 == 0 for o in page_offsets(data, 24))
    assert main(["validate", str(out)]) == 0
    capsys.readouterr()
    assert main(["info", str(out), "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["format"] == "v2" and facts["guest"] == "pv" and facts["p2m_size"] == 600
    assert facts["layers"] == ["libxl", "libxc"] and facts["guest_width"] == 64


def test_validate_exits_1_and_names_offset_and_record(tmp_path, capsys):
    bad = tmp_path / "bad"
    bad.write_bytes(pv_stream() + b"junk")
    assert main(["validate", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "offset 0x" in out and "INVALID" in out
    assert main(["convert", str(bad), str(tmp_path / "o"), "--to", "v2", "--wrap", "nope"]) == 2


def test_checkpointed_streams_round_trip_in_libxl(tmp_path):
    first = hvm_guest(pages=8)
    body = [r for r in first if not isinstance(r, End)]
    second_pages = [r for r in hvm_guest(pages=4) if isinstance(r, PageBatch)]
    records = body + [Checkpoint()] + second_pages + [r for r in first if
                                                       type(r).__name__ in ("HvmContext",)] + \
        [EmulatorContext(b"QEVM2"), End()]
    data = write(tmp_path / "a", records, wrap="libxl")
    got, findings = read(tmp_path / "a")
    assert not [f for f in findings if f.level == "error"]
    kinds = [type(r).__name__ for r in got]
    assert kinds.count("Checkpoint") == 1 and kinds.count("EmulatorContext") == 2
    assert write(tmp_path / "b", got, wrap="libxl") == data
