"""The overhead numbers on the rationale page, checked against hand arithmetic and real files."""

from __future__ import annotations

from xcformat import records as r
from xcformat.aligned.overhead import aligned_v1_bytes, approaches, rst_table

from conftest import write_aligned


def test_the_numbers_follow_from_each_formats_layout():
    by_name = {a.name: a.overhead for a in approaches()}
    assert by_name["legacy as Xen writes it, 64-bit toolstack"] == 256 * 8196
    assert by_name["legacy as Xen writes it, 32-bit toolstack"] == 256 * 4100
    # The real --align writer: the first batch starts after the p2m_size word and reaches the
    # boundary with 1022 entries (W=4: head 4092; W=8: -9, count, 1022 entries = 8184), then
    # 1023-entry batches (4096 / 8192 each); W=8's last batch (317 pages) needs only a 511-entry
    # head (4096).  The p2m_size word is left out, as for the rows above.
    assert by_name["legacy with XTAB fillers, 32-bit toolstack"] == 4092 + 256 * 4096
    assert by_name["legacy with XTAB fillers, 64-bit toolstack"] == 8184 + 255 * 8192 + 4096
    assert by_name["migration v2 as Xen writes it"] == 256 * 8208
    assert by_name["migration v2 aligned by batch sizing"] == 515 * 4096 + 506 * 4096
    assert by_name["QEMU mapped-ram (file size)"] == 1 << 20
    # header block + 2 blocks per full batch + one END block; the index adds 4 KiB + 8 bytes
    # per 1024-pfn leaf, 32 bytes of headers, and the END block absorbs the rest.
    assert by_name["aligned v1 without index"] == 4096 + 256 * 8192 + 4096
    index = 32 + 256 * (4096 + 8)
    assert by_name["aligned v1 with index"] == 4096 + 256 * 8192 + -(-(index + 64) // 4096) * 4096


def test_the_model_size_is_the_size_of_a_real_file(tmp_path):
    pages = 3000
    records = [r.ImageHeader(r.GuestType.HVM, pages, None, 64, None, r.Provenance("model"))]
    for first in range(0, pages, 1024):
        n = min(1024, pages - first)
        records.append(r.PageBatch(tuple(range(first, first + n)), bytes(n),
                                   memoryview(bytes(n * 4096))))
    records.append(r.End())
    assert len(write_aligned(tmp_path / "img", records)) == aligned_v1_bytes(pages)


def test_the_docs_table_shows_every_approach():
    table = rst_table()
    for approach in approaches():
        assert approach.name in table and f"{approach.overhead:,}" in table
