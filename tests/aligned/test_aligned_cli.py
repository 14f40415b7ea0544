"""The aligned format through the command line: convert, info, page from a pipe."""

from __future__ import annotations

import json
import subprocess
import sys

from xcformat.cli import main

from conftest import hvm_records, page, pv_records, write_aligned


def test_convert_aligned_to_aligned_is_byte_identical(tmp_path, capsys):
    original = write_aligned(tmp_path / "a", pv_records())
    assert main(["convert", str(tmp_path / "a"), str(tmp_path / "b"), "--to", "aligned",
                 "--no-progress"]) == 0
    assert (tmp_path / "b").read_bytes() == original


def test_convert_without_index_is_smaller_and_still_valid(tmp_path, capsys):
    write_aligned(tmp_path / "a", pv_records())
    assert main(["convert", str(tmp_path / "a"), str(tmp_path / "b"), "--to", "aligned",
                 "--no-index", "--no-progress"]) == 0
    assert (tmp_path / "b").stat().st_size < (tmp_path / "a").stat().st_size
    capsys.readouterr()
    assert main(["info", "--json", str(tmp_path / "b")]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["format"] == "aligned" and facts["indexed"] is False
    assert facts["guest"] == "pv" and facts["wrapper"] == "xl" and facts["page_records"] == 1024 + 333 + 2
    assert facts["pages"] == 1024 + 333     # pfns 5 and 7 are sent twice


def test_page_from_a_pipe_falls_back_to_a_scan(tmp_path):
    data = write_aligned(tmp_path / "a", hvm_records())
    result = subprocess.run([sys.executable, "-m", "xcformat", "page", "-", "--pfn", "0xf0003"],
                            input=data, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == page(99 + 0xF0003)
    assert b"found by scan" in result.stderr


def test_a_wrap_option_is_a_usage_error_and_leaves_no_file(tmp_path, capsys):
    write_aligned(tmp_path / "a", hvm_records())
    assert main(["convert", str(tmp_path / "a"), str(tmp_path / "b"), "--to", "aligned",
                 "--wrap", "xl", "--no-progress"]) == 2
    assert "aligned files have no wrappers" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


def test_hints_that_contradict_the_file_are_reported_and_ignored(tmp_path, capsys):
    write_aligned(tmp_path / "a", pv_records())
    assert main(["validate", "--json", "--guest", "hvm", "--width", "32", str(tmp_path / "a")]) == 0
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [f["message"] for f in findings] == ["--guest hvm ignored: the file records pv",
                                                "--input-width 32 ignored: the file records 64"]
