"""The legacy schemas: documented, cited, and sized as Xen's savers write them."""

import pytest

from xcformat.legacy import schema
from xcformat.schema import REGISTRY, undocumented_fields


def test_every_legacy_structure_is_documented_field_by_field_and_cites_a_commit():
    for w in (32, 64):
        for g in (32, 64):
            schema.structs(w, g)
    entries = [e for (fmt, _), e in REGISTRY.items() if fmt == "legacy"]
    assert len(entries) > 40
    for entry in entries:
        assert undocumented_fields(entry.struct) == [], entry.key
        commit, _, path = entry.source.partition(":")
        assert len(commit) >= 10 and path.startswith("tools/"), entry.key
        assert entry.since and entry.title


@pytest.mark.parametrize("key,size", [
    ("chunk_7", 24), ("chunk_3", 16), ("chunk_20", 16), ("chunk_9", 4), ("chunk_1", 4),
    ("tmem_extra_entry", 32), ("xl_header", 48), ("header_w32", 4), ("header_w64", 8),
    ("ext_info_header_w64", 12), ("ext_info_header_w32", 8), ("libxl_toolstack_v1", 8),
])
def test_fixed_sizes(key, size):
    assert REGISTRY[("legacy", key)].struct.sizeof() == size


def test_vcpu_info_chunk_is_16_bytes_below_64_vcpus_and_grows_by_words():
    chunk = REGISTRY[("legacy", "chunk_2")].struct
    assert len(chunk.build({"max_vcpu_id": 63, "online": [1]})) == 16
    assert len(chunk.build({"max_vcpu_id": 64, "online": [1, 1]})) == 24


@pytest.mark.parametrize("g,p2m_size,entries", [(64, 0x40000, 512), (32, 0x40000, 256),
                                                 (64, 1, 1), (64, 513, 2), (32, 1025, 2)])
def test_frame_list_entries_follow_the_guest_width(g, p2m_size, entries):
    for w in (32, 64):
        assert schema.structs(w, g).frame_list_entries(p2m_size) == entries


def test_libxl_physmap_entry_has_the_64_bit_tail_padding():
    entry = {"phys_offset": 1, "start_addr": 2, "size": 3, "namelen": 2, "name": b"a\0"}
    assert len(schema.structs(32, 32).libxl_physmap_entry.build(entry)) == 30
    assert len(schema.structs(64, 64).libxl_physmap_entry.build(
        dict(entry, tail_padding=bytes(4)))) == 34


def test_xend_length_is_big_endian():
    built = schema.XEND_HEADER.build({"config_length": 3, "config": b"abc"})
    assert built == b"LinuxGuestRecord\0\0\0\x03abc"


def test_every_chunk_id_from_minus_1_to_minus_20_is_known():
    assert sorted(schema.CHUNKS) == list(range(-20, 0))
