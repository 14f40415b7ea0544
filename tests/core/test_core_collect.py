"""PageCollector: a dump's page locations, sorted by pfn, in memory where pages are present."""

from xcformat.core.collect import PageCollector
from xcformat.io.spool import Spool
from xcformat.records import PAGE_SIZE, PageBatch


class _Seekable:
    seekable = True


class _Sink:
    """What a spool asks of its sink: here, an input it may read again (never a scratch file)."""
    reread = _Seekable()


def _batch(pfns, offset, types=None):
    types = bytes(types or [0] * len(pfns))
    pages = sum(t not in (0xD, 0xE, 0xF) for t in types)
    return PageBatch(tuple(pfns), types, memoryview(bytes(PAGE_SIZE * pages)), None, offset)


def _collector():
    return PageCollector(None, Spool(_Sink()))


def test_a_page_at_pfn_2_to_the_32_minus_2_costs_one_chunk_and_sorts_last():
    pages = _collector()
    pages.add(_batch([0xFFFFFFFE], 0))
    pages.add(_batch(range(5, 9), PAGE_SIZE))
    assert pages.count == 5 and pages.locations.allocated <= 2 * 512
    assert [pfns for pfns, _ in pages.sorted_entries()] == [[5, 6, 7, 8], [0xFFFFFFFE]]
    # pfns 5-8 lie back to back after pfn 0xfffffffe's page: one read for them, one for it.
    assert [(offset, n) for _, offset, n in pages.runs()] == [(PAGE_SIZE, 4), (0, 1)]


def test_whole_chunks_of_consecutive_pages_become_one_run_and_resends_are_counted():
    pages = _collector()
    pages.add(_batch(range(0, 1024), 0))
    pages.add(_batch(range(1024, 2048), 1024 * PAGE_SIZE))
    assert [(offset, n) for _, offset, n in pages.runs()] == [(0, 2048)]
    pages.add(_batch([3, 2000], 4096 * PAGE_SIZE))
    pages.add(_batch(range(10, 20), 5000 * PAGE_SIZE))
    assert pages.resent == 12 and pages.count == 2048
    runs = [(offset // PAGE_SIZE, n) for _, offset, n in pages.runs()]
    assert runs == [(0, 3), (4096, 1), (4, 6), (5000, 10), (20, 1980), (4097, 1), (2001, 47)]


def test_entries_without_data_take_no_place():
    pages = _collector()
    pages.add(_batch([1, 2, 3], 0, [0, 0xF, 0]))
    assert pages.count == 2
    assert [pfns for pfns, _ in pages.sorted_entries()] == [[1, 3]]
    # The two pages lie back to back in the input (pfns need not be consecutive): one read.
    assert [(offset, n) for _, offset, n in pages.runs()] == [(0, 2)]
