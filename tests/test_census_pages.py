"""info's ``pages``: distinct pfns with data, in a bitmap; ``page_records``: every copy sent."""

import json

from xcformat.census import Census
from xcformat.cli import main
from xcformat.pageset import LIMIT, PageSet
from xcformat.records import GuestType, ImageHeader, PageBatch
from xcformat.synth import GuestSpec, expected, legacy_bytes


def _batch(pfns, types=None):
    types = bytes(types or [0] * len(pfns))
    pages = sum(t not in (0xD, 0xE, 0xF) for t in types)
    return PageBatch(tuple(pfns), types, memoryview(bytes(4096 * pages)))


def test_a_live_save_counts_each_resent_page_once(tmp_path, capsys):
    spec = GuestSpec(pages=40, live=True)
    want = expected(spec)
    assert want.page_records > want.pages      # the last iteration re-sends pages
    (tmp_path / "live.img").write_bytes(legacy_bytes(spec))
    assert main(["info", "--json", str(tmp_path / "live.img")]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert (facts["pages"], facts["page_records"]) == (want.pages, want.page_records)


def test_no_data_entries_are_not_pages_and_the_bitmap_is_sized_by_p2m_size():
    census = Census()
    census.see(ImageHeader(GuestType.HVM, 0x1000))
    assert len(census.distinct.bits) == 0x1000 // 8
    census.see(_batch([1, 2, 3], [0, 0xF, 0xD]))
    census.see(_batch([1, 5]))
    assert (census.distinct.count(), census.page_records) == (2, 3)


def test_without_p2m_size_the_bitmap_grows_and_gives_up_past_the_limit():
    pages = PageSet()
    pages.add([7, 100_000, 7])
    assert pages.count() == 2 and len(pages.bits) <= 100_000 // 8 + 1
    pages.add([LIMIT])
    assert pages.count() is None and not pages.bits
