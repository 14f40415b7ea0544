"""One page by pfn: through the index, by the scan fallback, and with ``xcformat page``."""

from __future__ import annotations

import pytest

from xcformat import records as r
from xcformat.aligned import FORMAT
from xcformat.cli import main
from xcformat.formats import Hints
from xcformat.io import open_source
from xcformat.pagefind import find_page, scan_for_pages

from conftest import batch, page, write_aligned

#: pfn 3 is sent twice (the later copy wins), pfn 4 has data then turns BROKEN, pfn 0 is
#: only ever named by XTAB fillers after it was sent, pfn 9 is XALLOC only, 2000 never appears.
RESENT = [
    r.ImageHeader(r.GuestType.HVM, 4096, None, 64, None, r.Provenance("legacy", layout="hvm")),
    batch([(1, 0), (2, 0), (3, 0), (4, 0), (0, 0)], 0),
    batch([(3, 0), (0, 0xF), (4, 0xD), (9, 0xE), (1500, 0)], 100),
    r.End(),
]
EXPECTED = {1: page(1), 2: page(2), 3: page(103), 4: None, 0: page(0), 9: None,
            1500: page(1600), 2000: None}


@pytest.mark.parametrize("index", [True, False])
def test_lookup_finds_the_latest_copy(tmp_path, index):
    write_aligned(tmp_path / "img", RESENT, index=index)
    for pfn, want in EXPECTED.items():
        with open_source(str(tmp_path / "img")) as source:
            found = find_page(FORMAT, source, pfn, Hints())
            assert found.data == want, pfn
            assert found.how == ("index" if index else "scan")
            if index and want is not None:
                assert found.offset % 4096 == 0
                assert source.pread(found.offset, 4096, "page") == want


def test_index_and_scan_agree(tmp_path):
    write_aligned(tmp_path / "img", RESENT)
    for pfn in EXPECTED:
        with open_source(str(tmp_path / "img")) as source:
            scanned = scan_for_pages(FORMAT, source, range(pfn, pfn + 1), Hints())[pfn].data
            assert FORMAT.page_lookup(source, pfn).data == scanned


def test_page_command_writes_the_page_and_fails_for_a_pfn_without_data(tmp_path, capsys):
    write_aligned(tmp_path / "img", RESENT)
    out = tmp_path / "page"
    assert main(["page", str(tmp_path / "img"), "--pfn", "0x5dc", "-o", str(out)]) == 0
    assert out.read_bytes() == page(1600)
    assert "found by index at offset" in capsys.readouterr().err
    assert main(["page", str(tmp_path / "img"), "--pfn", "4"]) == 1
    assert "no data for pfn 0x4" in capsys.readouterr().err


def test_index_runs_and_single_entries_give_the_same_leaves():
    from xcformat.aligned.index import IndexBuilder

    run, single = IndexBuilder(), IndexBuilder()
    pfns = tuple(range(1000, 1100))              # crosses the leaf boundary at 1024
    run.add(pfns, bytes(100), 50)
    for n, pfn in enumerate(reversed(pfns)):     # with an XTAB filler: entry by entry
        single.add((pfn, 7), b"\x00\x0f", 50 + 99 - n)
    assert run.keys() == single.keys() == [0, 1]
    assert all(run.leaf_bytes(k) == single.leaf_bytes(k) for k in run.keys())
    assert run.pages() == 100


def test_page_on_a_legacy_image_scans_and_finds_the_latest_copy(tmp_path, capsys):
    from xcformat.synth import GuestSpec, expected, legacy_bytes

    spec = GuestSpec(variant="remus", pages=30, batch=8, checkpoints=3)  # re-sent pages
    (tmp_path / "img").write_bytes(legacy_bytes(spec))
    facts = expected(spec)
    for pfn in list(facts.data_pfns())[::7]:
        assert main(["page", str(tmp_path / "img"), "--pfn", str(pfn),
                     "-o", str(tmp_path / "p")]) == 0
        assert (tmp_path / "p").read_bytes() == facts.content(pfn)
        assert "found by scan" in capsys.readouterr().err
