"""info's ``pages``: distinct pfns with data, in a sparse bitmap; ``page_records``: every copy
sent."""

import json

from xcformat.census import Census
from xcformat.cli import main
from xcformat.pageset import CHUNK_BYTES, PageSet
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


def test_no_data_entries_are_not_pages_and_a_declared_p2m_size_allocates_nothing():
    census = Census()
    census.see(ImageHeader(GuestType.HVM, 0x0FFFFFFF))
    assert not census.distinct.chunks
    census.see(_batch([1, 2, 3], [0, 0xF, 0xD]))
    census.see(_batch([1, 5]))
    assert (census.distinct.count(), census.page_records) == (2, 3)


def test_the_bitmap_costs_a_chunk_where_pfns_lie_not_a_bitmap_up_to_the_highest():
    pages = PageSet()
    pages.add([7, 0x0FFFFFFE, 7, 1 << 40])
    assert pages.count() == 3
    assert len(pages.chunks) == 3 and all(len(b) == CHUNK_BYTES for b in pages.chunks.values())
