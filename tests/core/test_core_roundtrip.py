"""Dumps written from records read back page for page, by us and by independent readers."""

from __future__ import annotations

import random
import shutil
import struct
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from coredump_builders import (CR3, RIP, guest_records, page, pages_of, read_all, write_dump)
from elftools.elf.elffile import ELFFile

from xcformat.core import FORMAT
from xcformat.core.reader import reader_for
from xcformat.core import schema as s
from xcformat.core.contexts import registers
from xcformat.core.plan import DumpPlan
from xcformat.io import open_source
from xcformat.testing import read_records
from xcformat.records import GuestType, ImageHeader, SharedInfo, VcpuContext

PFNS = list(range(0, 40)) + list(range(0x100, 0x108)) + [0x12345]
VARIANTS = {
    "pv64": dict(guest=GuestType.PV, bits=64),
    "pv32": dict(guest=GuestType.PV, bits=32),
    "hvm": dict(guest=GuestType.HVM, bits=64),
}


def shuffled(seed=3):
    pfns = list(PFNS)
    random.Random(seed).shuffle(pfns)
    return pfns


@pytest.fixture(params=[(v, a) for v in VARIANTS for a in (False, True)],
                ids=lambda p: p[0] + ("-aligned" if p[1] else ""))
def dump(request, tmp_path):
    variant, align = request.param
    path = tmp_path / f"{variant}.core"
    write_dump(path, guest_records(shuffled(), resend=[5, 0x100], **VARIANTS[variant]),
               align=align)
    return path, variant, align


def test_every_page_reads_back_under_its_pfn_and_nothing_else(dump):
    path, variant, _ = dump
    r, records = read_all(path)
    got = pages_of(records)
    assert sorted(got) == sorted(PFNS)
    assert all(got[pfn] == page(pfn) for pfn in PFNS)
    assert [f for f in r.findings if f.level != "info"] == []
    header = records[0]
    assert isinstance(header, ImageHeader)
    assert header.guest is VARIANTS[variant]["guest"]
    assert header.p2m_size == max(PFNS) + 1


def test_contexts_keep_the_guest_layout_and_shared_info_survives(dump):
    path, variant, _ = dump
    _, records = read_all(path)
    contexts = [r for r in records if isinstance(r, VcpuContext)]
    shared = [r for r in records if isinstance(r, SharedInfo)]
    assert shared and shared[0].page == bytes(range(256)) * 16
    if variant == "hvm":
        # From the HVM context blob's CPU records, filled as Xen fills an HVM vCPU's context.
        regs = [registers(c.context, 64) for c in contexts]
        assert [r["rip"] for r in regs] == [0xFFFFFFFF81000000, 0xFFFFFFFF81000001]
        assert [r["rsp"] for r in regs] == [0x7000, 0x7001]
        assert regs[1]["cr3"] == 2 << 12 and regs[1]["cs"] == 0x10
        assert regs[1]["flags"] == 0x21   # VGCF_i387_valid | VGCF_online
        assert (regs[1]["gs_base_kernel"], regs[1]["gs_base_user"]) == (0xAAAA, 0xBBBB)
        return
    bits = VARIANTS[variant]["bits"]
    assert [len(c.context) for c in contexts] == [2800 if bits == 32 else 5168] * 2
    word = "<Q" if bits == 64 else "<I"
    assert struct.unpack_from(word, contexts[1].context, RIP[bits])[0] & 0xFF == 1
    assert struct.unpack_from(word, contexts[1].context, CR3[bits])[0] == 2 << 12


def test_random_access_by_pfn_and_gmfn_without_reading_the_pages(dump):
    path, variant, _ = dump
    with open_source(str(path)) as source:
        d = reader_for(source).open()
        for pfn in (0, 39, 0x100, 0x107, 0x12345):
            assert d.page(pfn) == page(pfn)
        for hole in (40, 0xFF, 0x108, 0x12346, s.INVALID):
            assert d.page(hole) is None
        if variant != "hvm":
            # Converted from a save image: gmfn = pfn, and the note says so.
            assert d.page_by_gmfn(0x104) == page(0x104)
            assert d.page_by_gmfn(41) is None
        assert d.p2m_size() == 0x12346
        regs = d.registers(1)
        if variant == "pv32":
            assert (regs["eip"], regs["cr3"]) == (0xC0100001, 2 << 12)
        else:
            assert regs["rip"] & 0xFF == 1 and regs["cr3"] == 2 << 12
        assert regs["flags"] & (1 << 5)


def test_default_layout_is_libxc_offsets_and_aligned_variant_ends_on_a_page(dump):
    path, variant, align = dump
    size = path.stat().st_size
    plan = DumpPlan(2, len(PFNS), variant != "hvm", True,
                    aligned=align)
    assert size == plan.file_size
    with open(path, "rb") as f:
        elf = ELFFile(f)
        pages = elf.get_section_by_name(".xen_pages")
        assert pages["sh_offset"] % 4096 == 0
        if align:
            assert size % 4096 == 0 and pages["sh_offset"] + pages["sh_size"] == size
        else:
            table = elf.get_section_by_name(".xen_pfn" if variant == "hvm" else ".xen_p2m")
            assert table["sh_offset"] == pages["sh_offset"] + pages["sh_size"]
            assert elf.get_section_by_name(".shstrtab")["sh_offset"] + 72 == size


def test_offsets_of_a_64_bit_pv_dump_of_2_vcpus_and_7_pages():
    plan = DumpPlan(2, 7, True, True)
    assert (plan.notes_offset, plan.prstatus_offset, plan.shared_info_offset,
            plan.pages_offset, plan.table_offset, plan.strtab_offset, plan.file_size) == \
        (512, 1896, 12232, 16384, 45056, 45168, 45240)


def test_pyelftools_sees_the_sections_and_four_xen_notes(dump):
    path, variant, _ = dump
    with open(path, "rb") as f:
        elf = ELFFile(f)
        assert elf["e_type"] == "ET_CORE" and elf["e_phnum"] == 0
        assert elf["e_machine"] == ("EM_386" if variant == "pv32" else "EM_X86_64")
        names = [sec.name for sec in elf.iter_sections()]
        table = ".xen_pfn" if variant == "hvm" else ".xen_p2m"
        assert names == ["", ".shstrtab", ".note.Xen", ".xen_prstatus", ".xen_shared_info",
                         ".xen_pages", table]
        notes = list(elf.get_section_by_name(".note.Xen").iter_notes())
        assert [(n["n_name"], n["n_type"], n["n_descsz"]) for n in notes] == [
            ("Xen", 0x2000000, 0), ("Xen", 0x2000001, 32), ("Xen", 0x2000002, 1280),
            ("Xen", 0x2000003, 8)]
        desc = notes[2]["n_descdata"]
        assert desc[176:190] == b"xen-3.0-x86_64"                    # capabilities
        pagesize_at = 1268 if variant == "pv32" else 1272              # the pv32 tail variant
        assert struct.unpack_from("<Q", desc, pagesize_at)[0] == 4096
        entsize = 16 if variant != "hvm" else 8
        raw = elf.get_section_by_name(table).data()
        pfns = [struct.unpack_from("<Q", raw, i)[0] for i in range(0, len(raw), entsize)]
        assert pfns == sorted(PFNS)


@pytest.mark.skipif(shutil.which("readelf") is None, reason="binutils readelf not installed")
def test_readelf_lists_the_sections_and_dumps_the_notes(dump):
    path, _, _ = dump
    out = subprocess.run(["readelf", "-h", "-S", "-W", str(path)], capture_output=True,
                         text=True, check=True)
    assert "CORE (Core file)" in out.stdout and "Warning" not in out.stderr
    for name in (".note.Xen", ".xen_prstatus", ".xen_pages"):
        assert name in out.stdout
    notes = subprocess.run(["readelf", "-x", ".note.Xen", str(path)], capture_output=True,
                           text=True, check=True)
    assert "58656e00" in notes.stdout.replace(" ", "")
    # readelf -n looks only at PT_NOTE segments for ET_CORE: it prints nothing here,
    # and must not complain either.
    quiet = subprocess.run(["readelf", "-n", str(path)], capture_output=True, text=True)
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_regions_come_in_file_order_tile_the_file_and_pages_are_aligned(dump):
    path, _, _ = dump
    regions = []
    read_records(path, FORMAT, on_region=regions.append)
    at = 0   # reported in file order, each starting where the one before ended
    for region in regions:
        assert region.offset == at, (region, at)
        at += region.length
    assert at == path.stat().st_size
    pages = [x for x in regions if x.kind == "page-data"]
    assert pages and all(x.offset % 4096 == 0 and x.length % 4096 == 0 for x in pages)
    assert {x.kind for x in regions} >= {"header", "section", "page-data", "index"}


@settings(max_examples=25, deadline=None)
@given(pfns=st.lists(st.integers(0, 1 << 16), min_size=1, max_size=60, unique=True),
       resend=st.lists(st.integers(0, 59), max_size=5), align=st.booleans(),
       hvm=st.booleans(), batch=st.integers(1, 9))
def test_any_stream_order_with_resends_gives_a_sorted_dump_of_last_copies(
        tmp_path_factory, pfns, resend, align, hvm, batch):
    path = tmp_path_factory.mktemp("prop") / "d.core"
    again = [pfns[i % len(pfns)] for i in resend]
    guest = GuestType.HVM if hvm else GuestType.PV
    write_dump(path, guest_records(pfns, guest=guest, resend=again, batch=batch), align=align)
    r, records = read_all(path)
    got = pages_of(records)
    assert list(got) == sorted(pfns)
    assert all(got[pfn] == page(pfn) for pfn in pfns)
    assert not [f for f in r.findings if f.level == "error"]
