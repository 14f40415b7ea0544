"""Reading the ELF layouts Xen wrote at one time or another, and the pre-ELF format A."""

from __future__ import annotations

import struct

import pytest
from coredump_builders import context, page, pages_of, read_all, verdicts
from old_dumps import build, format_a

from xcformat.core import FORMAT
from xcformat.core.reader import reader_for
from xcformat.io import open_source
from xcformat.testing import read_records
from xcformat.records import GuestType, ImageHeader, Provenance, VcpuContext

PFNS = [0, 1, 2, 7, 0x30]


def _read(tmp_path, data):
    path = tmp_path / "old.core"
    path.write_bytes(data)
    return read_all(path)


def _levels(r):
    return {(f.level, f.message.rsplit("#", 1)[-1].rstrip(")")) for f in r.findings}


def test_elfclass32_dump_of_february_2007_reads_with_a_class_warning(tmp_path):
    data = build(PFNS, elf_class=32, machine=3, tools_bits=32, stride=2800,
                 ctx=context(32, 0), table_first=True)
    r, records = _read(tmp_path, data)
    assert pages_of(records) == {p: page(p) for p in PFNS}
    header = records[0]
    assert header.provenance == Provenance("core", layout="elf32")
    assert header.toolstack_bits == 32 and header.guest_bits == 32
    assert ("warning", "2") in _levels(r)
    contexts = [x for x in records if isinstance(x, VcpuContext)]
    assert contexts[0].context == context(32, 0)


def test_32bit_toolstack_dump_with_offsets_4_mod_8_warns_only_about_alignment(tmp_path):
    # A real HVM dump of 32-bit tools: V = 1276, stride 5168, prstatus at 0x764.
    data = build(PFNS, pv=False, tools_bits=32, stride=5168)
    path = tmp_path / "hvm32tools.core"
    path.write_bytes(data)
    with open_source(str(path)) as source:
        dump = reader_for(source).open()
        assert dump.prstatus.offset == 0x764 and dump.shared_info.offset == 0x1b94
        assert dump.notes.toolstack_bits == 32 and dump.notes.version_pagesize == 4096
    r, records = _read(tmp_path, data)
    assert pages_of(records) == {p: page(p) for p in PFNS}
    assert {level for level, _ in _levels(r)} == {"warning"}
    assert {check for _, check in _levels(r)} == {"45"}


def test_shifted_xen_version_tail_of_a_32bit_pv_guest_from_64bit_tools(tmp_path):
    data = build(PFNS, machine=3, shifted=True, ctx=context(32, 0))
    path = tmp_path / "pv32.core"
    path.write_bytes(data)
    with open_source(str(path)) as source:
        notes = reader_for(source).open().notes
    assert notes.pagesize_shifted and notes.version_pagesize == 4096
    r, records = _read(tmp_path, data)
    assert r.findings == []
    assert records[0].guest_bits == 32


def test_pre_2009_32bit_tools_stride_2800_is_read_at_its_stride(tmp_path):
    data = build(PFNS, machine=3, tools_bits=32, stride=2800, ctx=context(32, 1), nr_vcpus=3)
    r, records = _read(tmp_path, data)
    contexts = [x for x in records if isinstance(x, VcpuContext)]
    assert [c.context for c in contexts] == [context(32, 1)] * 3


# -- format A ------------------------------------------------------------------------------
@pytest.mark.parametrize("ctx_size,entry", [(5168, 8), (2800, 8), (2800, 4)])
def test_format_a_pages_come_back_positionally_with_their_mfns(tmp_path, ctx_size, entry):
    data = format_a([5, 6, 9], ctx_size=ctx_size, entry=entry, vcpus=2)
    r, records = _read(tmp_path, data)
    header = records[0]
    assert isinstance(header, ImageHeader)
    assert header.provenance == Provenance("core", layout="format-a")
    assert header.toolstack_bits == (32 if ctx_size == 2800 else 64)
    assert len([x for x in records if isinstance(x, VcpuContext)]) == 2
    batch = records[3]
    assert batch.pfns == (0, 1, 2) and batch.gmfns == (0x9000, 0x9001, 0x9002)
    assert bytes(batch.data[4096:8192]) == page(6)
    assert r.summary()["index_entry_size"] == entry
    assert r.findings == []


def test_format_a_hvm_magic_gives_an_hvm_header(tmp_path):
    _, records = _read(tmp_path, format_a([1], magic=0xF00FEBEE))
    assert records[0].guest is GuestType.HVM


FORMAT_A_CASES = [
    ("ctxt-offset", dict(ctxt_offset=28), None, 59, "error"),
    ("context-size", dict(ctx_size=3000), None, 60, "error"),
    ("pages-offset", dict(), lambda d: d[:20] + struct.pack("<I", 0x5000) + d[24:], 61,
     "error"),
    ("pages-unaligned", dict(), lambda d: d[:20] + struct.pack("<I", 0x2010) + d[24:], 61,
     "error"),
    ("truncated", dict(), lambda d: d[:-100], 62, "error"),
    ("trailer", dict(trailer=b"extra"), None, 63, "warning"),
    ("byte-swapped", dict(), lambda d: struct.pack(">I", 0xF00FEBED) + d[4:], 64, "error"),
]


@pytest.mark.parametrize("case", FORMAT_A_CASES, ids=[c[0] for c in FORMAT_A_CASES])
def test_format_a_checklist(tmp_path, case):
    _, kwargs, edit, check, level = case
    data = format_a([1, 2], **kwargs)
    if edit:
        data = edit(data)
    path = tmp_path / "a.core"
    path.write_bytes(data)
    assert (level, check) in verdicts(path)


def test_format_a_regions_come_in_file_order_and_tile_the_file(tmp_path):
    path = tmp_path / "a.core"
    path.write_bytes(format_a([4, 5, 6], vcpus=2))
    regions = []
    read_records(path, FORMAT, on_region=regions.append)
    at = 0
    for region in regions:
        assert region.offset == at
        at += region.length
    assert at == path.stat().st_size
    assert [x.kind for x in regions] == ["header", "section", "section", "index", "padding",
                                         "page-data"]


def test_an_arm_dump_is_read_with_its_contexts_kept_raw(tmp_path):
    # ARM: e_machine 40, 352-byte contexts, .xen_pfn with magic EBEE.
    data = build(PFNS, machine=40, pv=False, stride=352, ctx=bytes(range(256)) + bytes(96))
    r, records = _read(tmp_path, data)
    assert pages_of(records) == {p: page(p) for p in PFNS}
    [ctx] = [x for x in records if isinstance(x, VcpuContext)]
    assert ctx.context[:256] == bytes(range(256)) and len(ctx.context) == 352
    assert r.summary()["registers"] == {} and r.findings == []
