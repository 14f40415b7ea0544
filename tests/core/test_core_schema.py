"""Every core-dump structure is registered for the reference, documented on every field, and has
the size Xen's headers give."""

import pytest

import xcformat.core  # noqa: F401  (registers the structures)
from xcformat.core import schema as s
from xcformat.schema import REGISTRY, undocumented_fields

CORE = {key: entry for (fmt, key), entry in REGISTRY.items() if fmt == "core"}


def test_the_reference_lists_every_dump_structure():
    assert set(CORE) >= {
        "elf64-header", "elf32-header", "section64-header", "section32-header", "note-header",
        "header-desc", "xen-version-desc-64", "xen-version-desc-pv32", "xen-version-desc-32",
        "format-version-desc", "p2m-entry", "pfn-entry", "xen-pages", "xen-prstatus",
        "xen-shared-info", "format-a-header", "format-a-contexts", "format-a-index",
        "hvm-hw-cpu-head"}


@pytest.mark.parametrize("key", sorted(CORE))
def test_every_field_has_a_doc_and_a_source(key):
    entry = CORE[key]
    assert undocumented_fields(entry.struct) == []
    assert entry.since and entry.doc and ":" in entry.source


@pytest.mark.parametrize("struct,size", [
    (s.elf64_header, 64), (s.elf32_header, 52), (s.section64_header, 64),
    (s.section32_header, 40), (s.note_header, 16), (s.header_desc, 32),
    (s.xen_version_desc64, 1280), (s.xen_version_desc_pv32, 1280), (s.xen_version_desc32, 1276),
    (s.format_version_desc, 8), (s.p2m_entry, 16), (s.format_a_header, 24),
    (s.hvm_cpu_head, 952)])
def test_sizes_match_xens_headers(struct, size):
    assert struct.sizeof() == size
