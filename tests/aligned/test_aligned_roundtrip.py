"""Records -> aligned v1 -> the same records, with every page on a 4096-byte boundary."""

from __future__ import annotations

import dataclasses

import pytest

from xcformat import records as r
from xcformat.aligned import FORMAT, codec, schema
from xcformat.formats import WriteOptions, sniff
from xcformat.io import Sink

from conftest import hvm_records, page, pv_records, read_aligned, same_records, write_aligned


def test_records_come_back_unchanged(tmp_path, sample):
    write_aligned(tmp_path / "img", sample)
    assert same_records(read_aligned(tmp_path / "img"), sample)


@pytest.mark.parametrize("index", [True, False])
def test_every_page_lies_on_a_block_boundary_found_from_the_bytes(tmp_path, index):
    records = pv_records()
    data = write_aligned(tmp_path / "img", records, index=index)
    assert len(data) % 4096 == 0
    found = 0
    for record in records:
        if isinstance(record, r.PageBatch):
            for n in range(record.data_pages):
                at = data.find(bytes(record.data[n * 4096:(n + 1) * 4096]))
                assert at > 0 and at % 4096 == 0, (n, at)
                found += 1
    assert found == 1024 + 333 + 2


class RecordingSink(Sink):
    """A real file sink that remembers where each write went."""

    def __init__(self, fd, name):
        super().__init__(fd, name)
        self.writes = []

    def write(self, data, *, gather=False):
        self.writes.append((self.offset, len(data), type(data)))
        super().write(data, gather=gather)


def test_every_write_is_whole_blocks_at_aligned_offsets(tmp_path):
    path = tmp_path / "img"
    with open(path, "wb") as f:
        sink = RecordingSink(f.fileno(), str(path))
        FORMAT.writer(sink, WriteOptions()).write(pv_records())
    assert sink.writes and all(at % 4096 == 0 and n % 4096 == 0 for at, n, _ in sink.writes)
    # Page data goes out as the caller's memoryview, not a copy.
    assert any(kind is memoryview and n == 1024 * 4096 for _, n, kind in sink.writes)


def test_first_bytes_are_certain_aligned_and_claimed_by_no_other_format(tmp_path):
    data = write_aligned(tmp_path / "img", hvm_records())
    verdicts = sniff(data[:65536])
    assert [(v.format, v.certain) for v in verdicts] == [("aligned", True)]
    assert FORMAT.sniff(b"\xff" * 8 + b"XENF" + bytes(12)) is None


def test_batches_with_wide_pfns_use_8_byte_entries(tmp_path):
    wide = r.PageBatch((1 << 40, 3), bytes([0, 0xE]), memoryview(page(1)))
    records = [r.ImageHeader(r.GuestType.HVM, None), wide, r.End()]
    data = write_aligned(tmp_path / "img", records)
    regions = []
    assert same_records(read_aligned(tmp_path / "img", regions.append), records)
    assert data.find(page(1)) % 4096 == 0
    at = next(region.offset for region in regions if region.kind == "batch-header")
    head = schema.BATCH_HEAD.parse(data[at + 16:])
    assert head.entry_size == 8


def test_machine_frames_of_a_core_dump_batch_survive(tmp_path):
    with_gmfns = r.PageBatch((7, 8, 9), bytes([0, 0xF, 0]), memoryview(page(7) + page(9)),
                             gmfns=(0x1234567, 0xFFFFFFFFFFFFFFFF, 0))
    records = [r.ImageHeader(r.GuestType.PV, 16, 64), with_gmfns, r.End()]
    data = write_aligned(tmp_path / "img", records)
    back = read_aligned(tmp_path / "img")
    assert back[1].gmfns == with_gmfns.gmfns and same_records(back, records)
    assert data.find(page(7)) % 4096 == 0 and data.find(page(9)) % 4096 == 0


def test_regions_cover_the_file_and_mark_pages_and_padding(tmp_path):
    write_aligned(tmp_path / "img", pv_records())
    regions = []
    read_aligned(tmp_path / "img", regions.append)
    assert regions[0].offset == 0
    for before, after in zip(regions, regions[1:]):
        assert before.offset + before.length == after.offset
    size = (tmp_path / "img").stat().st_size
    assert regions[-1].offset + regions[-1].length == size
    kinds = {region.kind for region in regions}
    assert {"header", "batch-header", "padding", "page-data", "index", "tail"} <= kinds
    assert all(region.offset % 4096 == 0 for region in regions if region.kind == "page-data")


def test_every_record_class_and_field_has_a_place_in_the_format():
    covered = {cls for cls, _ in schema.RECORD_BODIES.values()}
    expected = {cls for cls in vars(r).values() if isinstance(cls, type)
                and issubclass(cls, r.Record) and cls is not r.Record} - {r.PageBatch, r.End}
    # A Physmap is stored in the body that carried it before it was a record of its own
    # (a Toolstack blob, or EmulatorXenstore keys: test_physmap_round_trips covers its fields).
    assert covered == expected - {r.Physmap}
    # A field added to PageBatch needs a place in the batch layout (as gmfns got a flag, and
    # fillers are the XTAB entries they were); data_offset says where the input held the data,
    # not what the guest held: it needs none.
    assert [f.name for f in dataclasses.fields(r.PageBatch)] == [
        "pfns", "types", "data", "gmfns", "data_offset", "fillers"]
    for cls, struct in schema.RECORD_BODIES.values():
        names = [codec.TRANSLATED.get((cls, sub.name), (sub.name,))[0] for sub in struct.subcons]
        assert names == [f.name for f in dataclasses.fields(cls)], cls.__name__
        assert all(sub.docs for sub in struct.subcons), cls.__name__


def test_writer_refuses_what_it_cannot_store(tmp_path):
    from xcformat.errors import XcFormatError
    too_big = r.PageBatch(tuple(range(1025)), bytes(1025), memoryview(bytes(1025 * 4096)))
    short = r.PageBatch((1, 2), bytes(2), memoryview(bytes(4096)))
    for bad in ([r.ImageHeader(r.GuestType.PV, 4), too_big, r.End()],
                [r.ImageHeader(r.GuestType.PV, 4), short, r.End()],
                [r.ImageHeader(r.GuestType.PV, 4)]):
        with pytest.raises(XcFormatError):
            write_aligned(tmp_path / "img", bad)
        assert not (tmp_path / "img").exists()


def test_page_data_given_as_a_view_of_wider_items_is_written_as_bytes(tmp_path):
    words = memoryview(page(3) + page(4)).cast("Q")          # len() counts 1024 items here
    records = [r.ImageHeader(r.GuestType.HVM, 8), r.PageBatch((3, 4), bytes(2), words), r.End()]
    data = write_aligned(tmp_path / "img", records)
    assert data.find(page(3)) % 4096 == 0 and data.find(page(4)) == data.find(page(3)) + 4096
