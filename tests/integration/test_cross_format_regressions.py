"""Bugs found between the packages, each pinned by the smallest case that showed it."""

from __future__ import annotations

import json

from xcformat import synth

from .cli_runner import xcformat
from .images import guest_state


def _legacy(tmp_path, **spec):
    path = tmp_path / "in.legacy"
    synth.write_legacy(synth.GuestSpec(pages=24, **spec), path)
    return path


def test_v2_align_filler_repeats_become_one_page_per_pfn_in_legacy(tmp_path):
    # v2 --align fills a small batch by re-sending its pages within one PAGE_DATA record; the
    # legacy writer used to copy the repeats into one batch, which legacy readers refuse.
    src = _legacy(tmp_path)
    v2, back = tmp_path / "a.v2", tmp_path / "back.legacy"
    assert xcformat("convert", src, v2, "--to", "v2", "--align").code == 0
    assert xcformat("convert", v2, back, "--to", "legacy").code == 0
    checked = xcformat("validate", back)
    assert checked.code == 0, checked.output
    assert guest_state(back)[0] == guest_state(src)[0]
    info = json.loads(xcformat("info", back, "--json").stdout)
    assert info["pages"] == 24


def test_v2_xsave_goes_back_to_legacy_with_xcnt(tmp_path):
    # v2 sends xsave records after the pages, legacy announces them ("xcnt") before: the v2
    # reader now looks ahead, and down-conversion of an xsave guest no longer fails.
    src = _legacy(tmp_path, xsave=True, vcpus=2)
    v2, back = tmp_path / "x.v2", tmp_path / "back.legacy"
    assert xcformat("convert", src, v2, "--to", "v2").code == 0
    result = xcformat("convert", v2, back, "--to", "legacy")
    assert result.code == 0, result.stderr
    assert xcformat("validate", back).code == 0
    info = json.loads(xcformat("info", back, "--json").stdout)
    assert info["ext_info"][-1] == "xcnt"
    _, vcpus = guest_state(src)
    _, back_vcpus = guest_state(back)
    assert {k: v for k, v in back_vcpus.items() if k[0] == "xsave"} == \
        {k: v for k, v in vcpus.items() if k[0] == "xsave"}
    # ... and through aligned, which now stores the look-ahead in its image header.
    aligned, again = tmp_path / "x.aligned", tmp_path / "again.legacy"
    assert xcformat("convert", v2, aligned, "--to", "aligned").code == 0
    assert xcformat("convert", aligned, again, "--to", "legacy").code == 0
    assert again.read_bytes() == back.read_bytes()


def test_a_writer_refusal_names_the_input_file(tmp_path):
    # Writers see records, not files: their errors used to reach the user with no file name.
    src = _legacy(tmp_path, special_pages=True)
    result = xcformat("convert", src, tmp_path / "out.v2", "--to", "v2")
    assert result.code == 1
    assert result.stderr.startswith(f"xcformat: {src}: ")
    assert not (tmp_path / "out.v2").exists()
