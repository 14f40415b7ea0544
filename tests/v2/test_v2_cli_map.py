"""The v2 format through the command line, layout regions, checkpointed streams."""

import json
import struct

from v2_guests import hvm_guest, pv_guest, xl_wrapper
from v2_helpers import page_offsets, pages_by_pfn, read, write
from v2_raw import END, SDE, dhdr, hvm_context, ihdr, page_data, pv_stream, rec

from xcformat.cli import main
from xcformat.records import Checkpoint, EmulatorContext, HvmContext


def test_regions_tile_the_whole_file_and_mark_page_data(tmp_path):
    data = write(tmp_path / "a", hvm_guest(wrapper=xl_wrapper(), qemu=b"QEVM" + bytes(101)),
                 align=True)
    regions = []
    read(tmp_path / "a", regions)
    assert regions == sorted(regions, key=lambda r: r.offset)   # reported in file order
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
                 "--wrap", "libxl", "--format-version", "2", "--no-progress"]) == 0
    data = out.read_bytes()
    assert data.startswith(b"LibxlFmt") and data[36:40] == b"\0\0\0\2"
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
    assert main(["convert", str(bad), str(tmp_path / "o"), "--to", "v2",
                 "--format-version", "4"]) == 2


def test_checkpointed_streams_are_read_and_flattened_when_written(tmp_path):
    """A libxl checkpointed (COLO-style) stream: libxc records up to CHECKPOINT, libxl emulator
    records and CHECKPOINT_END, libxc records again.  A plain restore refuses CHECKPOINT, so the
    writer keeps every snapshot's pages and the last snapshot's state."""
    emulator = lambda text: rec(3, struct.pack("<II", 0, 0) + text)   # noqa: E731
    stream = (b"LibxlFmt" + struct.pack(">II", 2, 0) + rec(1) + ihdr(3) + dhdr(2) + SDE +
              page_data([0, 1]) + hvm_context() + rec(0x0E) + emulator(b"one") + rec(4) +
              page_data([1, 2]) + hvm_context() + END + emulator(b"two") + rec(0))
    (tmp_path / "in").write_bytes(stream)
    records, findings = read(tmp_path / "in")
    assert not [f for f in findings if f.level == "error"]
    kinds = [type(r).__name__ for r in records]
    # the Checkpoint follows the first snapshot's emulator state
    assert kinds.index("Checkpoint") == kinds.index("EmulatorContext") + 1
    write(tmp_path / "out", records)
    assert any("flattened 2 checkpoints" in message for message in write.said)
    flat, findings = read(tmp_path / "out")
    assert not [f for f in findings if f.level == "error"]
    assert not any(isinstance(r, Checkpoint) for r in flat)
    assert [r.data for r in flat if isinstance(r, EmulatorContext)] == [b"two"]
    assert sorted(pages_by_pfn(flat)) == [0, 1, 2]
    assert sum(isinstance(r, HvmContext) for r in flat) == 1
