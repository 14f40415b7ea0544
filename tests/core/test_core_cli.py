"""``xcformat info / validate / convert`` on dumps, through the real command line."""

from __future__ import annotations

import json

from coredump_builders import guest_records, write_dump
from dump_editor import Dump

from xcformat.cli import main


def _dump(tmp_path, **kwargs):
    path = tmp_path / "guest.core"
    write_dump(path, guest_records([0, 1, 2, 0x10], **kwargs))
    return path


def test_info_json_describes_a_dump(tmp_path, capsys):
    path = _dump(tmp_path)
    assert main(["info", "--json", str(path)]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["format"] == "core" and facts["guest"] == "pv"
    assert facts["pages"] == 4 and facts["vcpus"] == 2 and facts["p2m_size"] == 0x11
    assert facts["table"] == ".xen_p2m" and facts["gmfns"].startswith("pfn")
    assert facts["findings"] == []


def test_validate_exit_codes_and_json_findings(tmp_path, capsys):
    path = _dump(tmp_path)
    assert main(["validate", str(path)]) == 0
    assert "valid core" in capsys.readouterr().out
    d = Dump(path.read_bytes())
    d.set_entry(1, 5, 5)          # pfn order 0, 5, 2, 0x10: not ascending (#46)
    bad = tmp_path / "bad.core"
    bad.write_bytes(d.data)
    assert main(["validate", "--json", str(bad)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False
    [error] = [f for f in report["findings"] if f["level"] == "error"]
    assert "#46" in error["message"] and error["field"] == ".xen_p2m.pfn"
    assert error["offset"] == d.section(".xen_p2m")[0] + 32


def test_validate_names_file_offset_and_field_of_a_truncated_dump(tmp_path, capsys):
    path = _dump(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert str(path) in out and "offset 0x" in out and "field" in out and "#11" in out


def test_convert_dump_to_dump_is_byte_identical_and_align_round_trips(tmp_path):
    path = _dump(tmp_path, resend=[2])
    aligned, back = tmp_path / "aligned.core", tmp_path / "back.core"
    assert main(["convert", str(path), str(aligned), "--to", "core", "--align"]) == 0
    assert aligned.stat().st_size % 4096 == 0
    assert main(["convert", str(aligned), str(back), "--to", "core"]) == 0
    assert back.read_bytes() == path.read_bytes()


def test_page_finds_a_pfn_by_binary_search_and_says_where(tmp_path, capsys):
    from coredump_builders import page

    path = _dump(tmp_path)
    out = tmp_path / "page.bin"
    assert main(["page", str(path), "--pfn", "0x10", "-o", str(out)]) == 0
    assert out.read_bytes() == page(0x10)
    err = capsys.readouterr().err
    assert "binary search in .xen_p2m" in err and f"offset {0x4000 + 3 * 4096:#x}" in err
    assert main(["page", str(path), "--pfn", "3"]) == 1
    assert "no data for pfn 0x3" in capsys.readouterr().err
