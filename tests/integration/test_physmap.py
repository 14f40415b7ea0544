"""libxl's physmap is one record that every format encodes its own way.

Legacy streams hold it as libxl's toolstack blob laid out for the toolstack's width (32 or 64
bits: a 64-bit libxl pads every entry), v2 as EMULATOR_XENSTORE_DATA keys, aligned v1 as the
body that carried it.  Images come from :mod:`xcformat.synth` (an independent writer of legacy
bytes) and go through the public API, as ``xcformat convert`` does.
"""

from __future__ import annotations

import struct

import pytest

import xcformat
from xcformat import records as r
from xcformat.legacy import physmap as blob
from xcformat.synth import GuestSpec, legacy_bytes
from xcformat.v2 import physmap as keys

VGA = r.PhysmapEntry(0xF0000000, 0xF0000000, 0x800000, b"vga.vram")


def _legacy(tmp_path, width: int):
    path = tmp_path / "in.legacy"
    path.write_bytes(legacy_bytes(GuestSpec(guest="hvm", pages=16, toolstack_bits=width)))
    return path


def _records(path, **hints) -> list[r.Record]:
    with xcformat.open(str(path), **hints) as image:
        return [record for record in image.records() if not isinstance(record, r.PageBatch)]


def _physmaps(path, **hints) -> list[r.Physmap]:
    return [record for record in _records(path, **hints) if isinstance(record, r.Physmap)]


def _convert(source, dest, to: str, **options) -> None:
    with xcformat.open(str(source)) as image:
        image.convert(str(dest), to, on_message=lambda _: None, **options)


@pytest.mark.parametrize("width", [32, 64])
def test_the_legacy_reader_reads_the_blob_at_its_width(tmp_path, width):
    (physmap,) = _physmaps(_legacy(tmp_path, width))
    assert physmap.entries == (VGA,) and physmap.blob_bits == width
    assert [len(e.padding) for e in physmap.entries] == [4 if width == 64 else 0]


@pytest.mark.parametrize("width", [32, 64])
@pytest.mark.parametrize("out_width", [32, 64])
def test_legacy_to_v2_to_aligned_to_legacy_keeps_the_physmap_at_each_width(
        tmp_path, width, out_width):
    source = _legacy(tmp_path, width)
    _convert(source, tmp_path / "a.v2", "v2", wrap="libxl")
    v2 = _physmaps(tmp_path / "a.v2")
    assert [p.entries for p in v2] == [(VGA,)] and v2[0].blob_bits is None
    _convert(tmp_path / "a.v2", tmp_path / "b.xcal", "aligned")
    assert _physmaps(tmp_path / "b.xcal") == v2
    _convert(tmp_path / "b.xcal", tmp_path / "c.legacy", "legacy", width=out_width)
    (back,) = _physmaps(tmp_path / "c.legacy", guest="hvm", width=out_width)
    assert back.entries == (VGA,) and back.blob_bits == out_width
    # The blob is the one a libxl of that width writes: what synth writes at that width.
    expected = legacy_bytes(GuestSpec(guest="hvm", pages=16, toolstack_bits=out_width))
    written = (tmp_path / "c.legacy").read_bytes()
    assert blob.to_blob(back, out_width) in expected and blob.to_blob(back, out_width) in written


@pytest.mark.parametrize("width", [32, 64])
def test_aligned_keeps_a_legacy_physmap_as_its_blob_and_gives_back_the_same_stream(
        tmp_path, width):
    source = _legacy(tmp_path, width)
    _convert(source, tmp_path / "a.xcal", "aligned")
    (physmap,) = _physmaps(tmp_path / "a.xcal")
    assert physmap.blob_bits == width and physmap.entries == (VGA,)
    assert blob.to_blob(physmap, width) in (tmp_path / "a.xcal").read_bytes()
    _convert(tmp_path / "a.xcal", tmp_path / "b.legacy", "legacy")
    assert (tmp_path / "b.legacy").read_bytes() == source.read_bytes()


def test_what_a_64_bit_libxl_left_in_its_padding_is_rewritten_exactly(tmp_path):
    data = bytearray(_legacy(tmp_path, 64).read_bytes())
    clean = blob.to_blob(r.Physmap((VGA,)), 64)
    at = data.index(clean)
    data[at + len(clean) - 4:at + len(clean)] = b"\xde\xad\xbe\xef"   # realloc's leftovers
    (tmp_path / "junk.legacy").write_bytes(data)
    (physmap,) = _physmaps(tmp_path / "junk.legacy")
    assert physmap.entries == (VGA,) and physmap.entries[0].padding == b"\xde\xad\xbe\xef"
    _convert(tmp_path / "junk.legacy", tmp_path / "same.legacy", "legacy")
    assert (tmp_path / "same.legacy").read_bytes() == bytes(data)
    _convert(tmp_path / "junk.legacy", tmp_path / "a.xcal", "aligned")
    _convert(tmp_path / "a.xcal", tmp_path / "back.legacy", "legacy")
    assert (tmp_path / "back.legacy").read_bytes() == bytes(data)
    _convert(tmp_path / "junk.legacy", tmp_path / "w32.legacy", "legacy", width=32)
    assert blob.to_blob(physmap, 32) in (tmp_path / "w32.legacy").read_bytes()
    assert b"\xde\xad\xbe\xef" not in (tmp_path / "w32.legacy").read_bytes()


def test_a_blob_of_unknown_width_is_read_at_the_width_whose_entries_fill_it():
    for width in (32, 64):
        data = blob.to_blob(r.Physmap((VGA, r.PhysmapEntry(0xC0000, 0xFE000000, 0x10000,
                                                           b"vga.rom"))), width)
        found = blob.from_blob(data, None)
        assert found is not None and found.blob_bits == width and len(found.entries) == 2
        assert blob.from_blob(data, 96 - width) is None
    assert blob.from_blob(b"\x02\0\0\0\0\0\0\0", None) is None
    assert blob.from_blob(blob.to_blob(r.Physmap(()), 32) + b"x", None) is None


def test_only_keys_exactly_as_libxl_writes_them_are_a_physmap():
    libxl = (b"physmap/f0000000/start_addr\0f0000000\0physmap/f0000000/size\0800000\0"
             b"physmap/f0000000/name\0vga.vram\0")
    assert keys.from_keys(libxl, 2, 0) == r.Physmap((VGA,), 2, 0)
    assert keys.to_keys(r.Physmap((VGA,))) == libxl
    for other in (libxl.replace(b"800000", b"0x800000"), libxl.replace(b"f0000000/size",
                  b"F0000000/size"), libxl + b"device-model/0/state\0running\0",
                  libxl[:libxl.index(b"physmap/f0000000/name")], b"physmap/0\0x\0"):
        assert keys.from_keys(other) is None


def test_a_v2_physmap_rewrites_byte_for_byte_and_keeps_its_emulator_ids(tmp_path):
    _convert(_legacy(tmp_path, 64), tmp_path / "a.v2", "v2", wrap="libxl")
    data = (tmp_path / "a.v2").read_bytes()
    libxl = keys.to_keys(r.Physmap((VGA,)))
    at = data.index(libxl)
    patched = bytearray(data)
    patched[at - 8:at] = struct.pack("<II", 2, 0)       # qemu-upstream's emulator id
    (tmp_path / "b.v2").write_bytes(patched)
    (physmap,) = _physmaps(tmp_path / "b.v2")
    assert (physmap.emulator_id, physmap.index) == (2, 0)
    _convert(tmp_path / "b.v2", tmp_path / "c.v2", "v2")
    assert (tmp_path / "c.v2").read_bytes() == bytes(patched)
    _convert(tmp_path / "b.v2", tmp_path / "d.xcal", "aligned")
    _convert(tmp_path / "d.xcal", tmp_path / "e.v2", "v2")
    assert (tmp_path / "e.v2").read_bytes() == bytes(patched)
