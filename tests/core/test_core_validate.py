"""The dump validator: every numbered dump check (xcformat.core.checks), on a malformed dump."""

from __future__ import annotations

import struct

import pytest
from coredump_builders import guest_records, verdicts, write_dump
from dump_editor import Dump

from xcformat.records import GuestType

PFNS = list(range(0, 12)) + [0x40, 0x41]
ONES = 0xFFFF_FFFF_FFFF_FFFF


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    base = tmp_path_factory.mktemp("good")
    made = {}
    for name, guest, bits, pfns in (("pv", GuestType.PV, 64, PFNS),
                                    ("pv32", GuestType.PV, 32, PFNS),
                                    ("hvm", GuestType.HVM, 64, PFNS + [0xA5])):
        path = base / f"{name}.core"
        write_dump(path, guest_records(pfns, guest=guest, bits=bits))
        made[name] = path.read_bytes()
    return made


def test_the_good_dumps_have_no_findings_but_the_hvm_hole_info(good, tmp_path):
    for name, data in good.items():
        path = tmp_path / "d"
        path.write_bytes(data)
        expected = {("info", 53)} if name == "hvm" else set()
        assert verdicts(path) == expected


def _p2m_half_invalid(d):
    d.set_entry(len(PFNS) - 1, PFNS[-1], ONES)


def _invalid_first(d):
    d.set_entry(0, ONES, ONES)
    d.data[d.page_offset(0):d.page_offset(1)] = bytes(4096)


def _all_invalid(d):
    for i in range(len(PFNS)):
        d.set_entry(i, ONES, ONES)
    start = d.page_offset(0)
    d.data[start:start + 4096 * len(PFNS)] = bytes(4096 * len(PFNS))


def _note_xen_version(size):
    def mutate(d):
        notes = [(k, desc) for k, desc, _ in d.notes()]
        notes[2] = (notes[2][0], bytes(size))
        d.replace_notes(notes)
    return mutate


def _notes_edit(edit):
    def mutate(d):
        notes = [(k, desc) for k, desc, _ in d.notes()]
        d.replace_notes(edit(notes))
    return mutate


def _set_shared_info_size(d):
    d.sset(".xen_shared_info", "size", 2048)


# (id, guest, mutation, check, level)
CASES = [
    ("no-elf-magic", "pv", lambda d: d.data.__setitem__(slice(1, 4), b"ELX"), 1, "error"),
    ("class-3", "pv", lambda d: d.set("ei_class", 3), 2, "error"),
    ("big-endian", "pv", lambda d: d.set("ei_data", 2), 3, "error"),
    ("ei-version", "pv", lambda d: d.set("ei_version", 2), 3, "error"),
    ("e-version", "pv", lambda d: d.set("e_version", 0), 3, "error"),
    ("e-type-exec", "pv", lambda d: d.set("e_type", 2), 3, "error"),
    ("e-machine", "pv", lambda d: d.set("e_machine", 183), 4, "warning"),
    ("e-ehsize", "pv", lambda d: d.set("e_ehsize", 60), 5, "error"),
    ("e-shentsize", "pv", lambda d: d.set("e_shentsize", 40), 5, "error"),
    ("e-phnum", "pv", lambda d: d.set("e_phnum", 1), 6, "warning"),
    ("e-shoff-0", "pv", lambda d: d.set("e_shoff", 0), 7, "error"),
    ("e-shnum-0", "pv", lambda d: d.set("e_shnum", 0), 7, "error"),
    ("shdrs-past-eof", "pv", lambda d: d.set("e_shoff", len(d.data) - 100), 7, "error"),
    ("offset-overflow", "pv", lambda d: (d.sset(".xen_shared_info", "offset", ONES - 8)), 7,
     "error"),
    ("shstrndx-escape", "pv", lambda d: d.set("e_shstrndx", 0xFFFF), 8, "error"),
    ("shstrndx-range", "pv", lambda d: d.set("e_shstrndx", 9), 8, "error"),
    ("shstrtab-not-strtab", "pv", lambda d: d.sset(1, "type", 1), 8, "error"),
    ("shstrtab-no-nul", "pv", lambda d: d.data.__setitem__(d.section(".shstrtab")[0], 0x41),
     8, "error"),
    ("sh-name-range", "pv", lambda d: d.sset(3, "name", 500), 8, "error"),
    ("null-section-dirty", "pv", lambda d: d.data.__setitem__(64 + 5, 1), 9, "warning"),
    ("duplicate-names", "pv", lambda d: d.sset(4, "name", d.shdr(3)["name"]), 10, "error"),
    ("truncated", "pv", lambda d: d.data.__delitem__(slice(len(d.data) - 50, None)), 11,
     "error"),
    ("truncated-in-pages", "pv", lambda d: d.data.__delitem__(slice(d.page_offset(3), None)),
     11, "error"),
    ("overlap", "pv", lambda d: d.sset(".xen_shared_info", "offset",
                                       d.section(".xen_prstatus")[0] + 8), 12, "error"),
    ("note-type", "pv", lambda d: d.sset(".note.Xen", "type", 1), 13, "error"),
    ("sh-flags", "pv", lambda d: d.sset(".xen_prstatus", "flags", 2), 13, "warning"),
    ("sh-addr", "pv", lambda d: d.sset(".xen_pages", "addr", 0x1000), 13, "warning"),
    ("dirty-padding", "pv", lambda d: d.data.__setitem__(d.page_offset(0) - 1, 7), 14,
     "warning"),
    ("trailing-bytes", "pv", lambda d: d.data.extend(b"junk"), 15, "warning"),
    ("strtab-order", "pv", lambda d: _swap_headers(d, 3, 4), 16, "warning"),
    ("unknown-section", "pv", lambda d: d.add_section(".xen_extra", 0, 0), 17, "info"),
    ("no-notes", "pv", lambda d: d.rename(".note.Xen", ".note.Xyz"), 18, "error"),
    ("note-cut-off", "pv", lambda d: d.sset(".note.Xen", "size", 1384 - 20), 19, "error"),
    ("note-header-cut", "pv", lambda d: d.replace_notes(
        bytes(d.data[d.section(".note.Xen")[0]:sum(d.section(".note.Xen"))]) + bytes(10)), 19,
     "error"),
    ("note-name", "pv", lambda d: d.data.__setitem__(slice(d.note_desc_offset("header") - 4,
                                                            d.note_desc_offset("header")),
                                                      b"Xyz\x00"), 19, "error"),
    ("note-missing", "pv", _notes_edit(lambda n: n[:2] + n[3:]), 20, "error"),
    ("note-duplicate", "pv", _notes_edit(lambda n: n + [n[3]]), 20, "error"),
    ("none-descsz", "pv", _notes_edit(lambda n: [(n[0][0], bytes(4))] + n[1:]), 21, "error"),
    ("header-descsz", "pv", _notes_edit(lambda n: [n[0], (n[1][0], n[1][1] + bytes(8))]
                                        + n[2:]), 21, "error"),
    ("format-descsz", "pv", _notes_edit(lambda n: n[:3] + [(n[3][0], bytes(16))]), 21,
     "error"),
    ("xen-version-short", "pv", _note_xen_version(1272), 22, "error"),
    ("xen-version-odd", "pv", _note_xen_version(1284), 23, "warning"),
    ("format-major", "pv", _notes_edit(lambda n: n[:3] + [(n[3][0], struct.pack("<Q", 1 << 32
                                                                                | 1))]),
     24, "error"),
    ("format-minor", "pv", _notes_edit(lambda n: n[:3] + [(n[3][0], struct.pack("<Q", 2))]),
     25, "warning"),
    ("unknown-note", "pv", _notes_edit(lambda n: n + [(0x2000009, bytes(8))]), 26, "warning"),
    ("magic", "pv", lambda d: d.set_header_note("magic", 0xF00FEBEF), 27, "error"),
    ("vcpus-0", "pv", lambda d: d.set_header_note("nr_vcpus", 0), 28, "error"),
    ("vcpus-huge", "pv", lambda d: d.set_header_note("nr_vcpus", 5000), 28, "warning"),
    ("pages-0", "pv", lambda d: d.set_header_note("nr_pages", 0), 29, "error"),
    ("pages-overflow", "pv", lambda d: d.set_header_note("nr_pages", 1 << 60), 30, "error"),
    ("page-size-odd", "pv", lambda d: d.set_header_note("page_size", 4095), 31, "error"),
    ("page-size-8k", "pv", lambda d: d.set_header_note("page_size", 8192), 32, "warning"),
    ("version-pagesize", "pv", lambda d: struct.pack_into(
        "<Q", d.data, d.note_desc_offset("xen_version") + 1272, 8192), 33, "warning"),
    ("no-prstatus", "pv", lambda d: d.rename(".xen_prstatus", ".xen_prstatuz"), 34, "error"),
    ("prstatus-entsize-0", "pv", lambda d: d.sset(".xen_prstatus", "entsize", 0), 34, "error"),
    ("prstatus-ragged", "pv", lambda d: d.sset(".xen_prstatus", "size", 5168 * 2 - 8), 34,
     "error"),
    ("prstatus-count", "pv", lambda d: d.set_header_note("nr_vcpus", 3), 34, "error"),
    ("prstatus-small", "pv", lambda d: (d.sset(".xen_prstatus", "entsize", 2800),
                                        d.sset(".xen_prstatus", "size", 5600)), 35, "error"),
    ("prstatus-odd-stride", "pv", lambda d: (d.sset(".xen_prstatus", "entsize", 5176),
                                             d.sset(".xen_prstatus", "size", 5176 * 2)),
     36, "warning"),
    ("no-pages", "pv", lambda d: d.rename(".xen_pages", ".xen_pagez"), 37, "error"),
    ("pages-entsize", "pv", lambda d: d.sset(".xen_pages", "entsize", 512), 37, "error"),
    ("pages-size", "pv", lambda d: d.sset(".xen_pages", "size", 4096 * 3), 37, "error"),
    ("pages-unaligned", "pv", lambda d: (d.sset(".xen_pages", "offset",
                                                d.section(".xen_pages")[0] - 512)), 37,
     "error"),
    ("pages-addralign", "pv", lambda d: d.sset(".xen_pages", "addralign", 512), 37, "error"),
    ("no-table", "pv", lambda d: d.rename(".xen_p2m", ".xen_p2x"), 38, "error"),
    ("both-tables", "pv", lambda d: d.rename(".xen_shared_info", ".xen_pfn"), 38, "error"),
    ("table-entsize", "pv", lambda d: d.sset(".xen_p2m", "entsize", 8), 39, "error"),
    ("table-size", "pv", lambda d: d.sset(".xen_p2m", "size", 16 * 3), 39, "error"),
    ("magic-table-pv", "pv", lambda d: d.set_header_note("magic", 0xF00FEBEE), 40, "error"),
    ("magic-table-hvm", "hvm", lambda d: d.set_header_note("magic", 0xF00FEBED), 40, "error"),
    ("arm-pairing", "hvm", lambda d: (d.set("e_machine", 40),
                                      d.set_header_note("magic", 0xF00FEBED)), 41, "info"),
    ("shared-info-size", "pv", _set_shared_info_size, 42, "error"),
    ("no-shared-info-pv", "pv", lambda d: d.rename(".xen_shared_info", ".xen_other"), 43,
     "warning"),
    ("ia64-regs", "pv", lambda d: d.add_section(".xen_ia64_mapped_regs", 0, 0), 44, "warning"),
    ("misaligned", "pv", lambda d: d.sset(".xen_prstatus", "addralign", 16), 45, "warning"),
    ("unsorted", "pv", lambda d: (d.set_entry(2, 3, 3), d.set_entry(3, 2, 2)), 46, "error"),
    ("duplicate-pfn", "hvm", lambda d: d.set_entry(3, 2), 46, "error"),
    ("half-invalid", "pv", _p2m_half_invalid, 47, "error"),
    ("invalid-first", "pv", _invalid_first, 48, "warning"),
    ("invalid-page-dirty", "pv", lambda d: d.set_entry(len(PFNS) - 1, ONES, ONES), 49,
     "warning"),
    ("marker-32", "hvm", lambda d: d.set_entry(len(PFNS), 0xFFFFFFFF), 50, "warning"),
    ("duplicate-gmfn", "pv", lambda d: d.set_entry(1, 1, 0), 51, "warning"),
    ("gmfn-beyond-52-bits", "pv", lambda d: d.set_entry(1, 1, 1 << 41), 52, "warning"),
    ("vga-hole", "hvm", lambda d: None, 53, "info"),
    ("all-invalid", "pv", _all_invalid, 54, "warning"),
    ("cr3-low-bits", "pv", lambda d: _slot_word(d, 0, 5008, 0x2001), 55, "warning"),
    ("none-online", "pv", lambda d: (_slot_word(d, 0, 512, 0), _slot_word(d, 1, 512, 0)), 56,
     "warning"),
    ("em386-slot-tail", "pv32", lambda d: _slot_word(d, 1, 3000, 0xDEAD), 57, "warning"),
    ("cr3-not-dumped", "pv", lambda d: _slot_word(d, 1, 5008, 0x999 << 12), 58, "warning"),
    ("cr3-not-dumped-32", "pv32", lambda d: _slot_word(d, 0, 2728, 0x999 << 12, "<I"), 58,
     "warning"),
]


def _slot_word(d, slot, offset, value, fmt="<Q"):
    """Overwrite a word at ``offset`` of .xen_prstatus slot ``slot`` (stride 5168)."""
    struct.pack_into(fmt, d.data, d.section(".xen_prstatus")[0] + slot * 5168 + offset, value)


def _swap_headers(d, a, b):
    base = d.get("e_shoff")
    ha = bytes(d.data[base + 64 * a:base + 64 * (a + 1)])
    d.data[base + 64 * a:base + 64 * (a + 1)] = d.data[base + 64 * b:base + 64 * (b + 1)]
    d.data[base + 64 * b:base + 64 * (b + 1)] = ha


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_checklist_item_is_reported(good, tmp_path, case):
    _, guest, mutate, check, level = case
    d = Dump(good[guest])
    mutate(d)
    path = tmp_path / "bad.core"
    path.write_bytes(d.data)
    found = verdicts(path)
    assert (level, check) in found, found


def test_every_elf_and_context_checklist_item_has_a_case():
    covered = {c[3] for c in CASES}
    assert set(range(1, 59)) - covered == set()
