"""Legacy images of every synth variant go to aligned and back byte for byte, with every page of
the aligned file on a 4096-byte boundary, checked by a walker that shares no code with the
aligned reader, against the page contents xcformat.synth says the guest has."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xcformat.cli import main
from xcformat.records import DATA_TYPES
from xcformat.synth import VARIANTS, GuestSpec, expected, legacy_bytes
from xcformat.testing import mutations, spec_images, truncations


def _specs() -> dict[str, GuestSpec]:
    """One or two small specs for every variant, guest type and toolstack width synth allows."""
    specs = {}
    for name, variant in VARIANTS.items():
        for guest in sorted(variant.guests):
            for bits in (32, 64):
                options = dict(guest=guest, variant=name, toolstack_bits=bits, pages=40,
                               batch=16, vcpus=2 if variant.vcpu_info else 1,
                               wrapper=max(variant.wrappers, key=str),
                               xsave=variant.xsave and guest == "pv", tmem=variant.tmem,
                               special_pages=variant.broken or variant.xalloc)
                if name == "3.0.4-pae" and bits == 64:
                    continue
                if name == "3.0.4-pae":
                    options["guest_bits"] = 32
                specs[f"{name}-{guest}-w{bits}"] = GuestSpec(**options)
                if guest == "pv" and not variant.same_width:
                    other = 96 - bits
                    specs[f"{name}-pv-w{bits}-g{other}"] = GuestSpec(**{**options,
                                                                        "guest_bits": other})
    return specs


SPECS = _specs()


def page_offsets(data: bytes) -> list[tuple[int, int]]:
    """(pfn, file offset) of every stored page, walking the records with struct alone."""
    found = []
    at = 4096
    while True:
        kind, _, _, length = struct.unpack_from("<HHIQ", data, at)
        if kind == 0x01:
            count, size, flags, pages, pad = struct.unpack_from("<IBB2xII", data, at + 16)
            code, shift = {4: ("I", 28), 8: ("Q", 60)}[size]
            entries = struct.unpack_from(f"<{count}{code}", data, at + 32)
            page_at = at + 32 + count * (size + 8 * (flags & 1)) + pad
            for entry in entries:
                if entry >> shift in DATA_TYPES:
                    found.append((entry & ((1 << shift) - 1), page_at))
                    page_at += 4096
            assert len(found) >= pages
        elif kind == 0x7F:
            return found
        at += 16 + length + (-length % 8)


def round_trip(tmp_path, spec: GuestSpec, original: bytes) -> bytes:
    (tmp_path / "in").write_bytes(original)
    hints = ["--guest", spec.guest, "--width", str(spec.toolstack_bits)]
    assert main(["convert", str(tmp_path / "in"), str(tmp_path / "a"), "--to", "aligned",
                 "--no-progress", *hints]) == 0
    assert main(["convert", str(tmp_path / "a"), str(tmp_path / "out"), "--to", "legacy",
                 "--no-progress"]) == 0
    assert (tmp_path / "out").read_bytes() == original
    return (tmp_path / "a").read_bytes()


@pytest.mark.parametrize("name", SPECS)
def test_legacy_to_aligned_and_back_is_byte_identical_with_every_page_aligned(tmp_path, name,
                                                                              capsys):
    spec = SPECS[name]
    aligned = round_trip(tmp_path, spec, legacy_bytes(spec))
    facts = expected(spec)
    stored = page_offsets(aligned)
    assert len(stored) == facts.page_records
    assert all(offset % 4096 == 0 for _, offset in stored)
    latest = dict(stored)
    assert sorted(latest) == sorted(facts.data_pfns())
    for pfn, offset in latest.items():
        assert aligned[offset:offset + 4096] == facts.content(pfn), pfn
    assert len(aligned) % 4096 == 0
    capsys.readouterr()
    assert main(["validate", str(tmp_path / "a")]) == 0


@settings(max_examples=25, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=spec_images(max_pages=40, max_vcpus=3))
def test_any_generated_legacy_image_survives_the_round_trip(tmp_path, case):
    spec, original = case
    aligned = round_trip(tmp_path, spec, original)
    assert all(offset % 4096 == 0 for _, offset in page_offsets(aligned))


_FUZZ_SPEC = GuestSpec(guest="pv", variant="4.5", pages=20, batch=8, vcpus=2, xsave=True,
                       special_pages=True, wrapper="xl")


@pytest.fixture(scope="module")
def fuzz_image(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz")
    return round_trip(path, _FUZZ_SPEC, legacy_bytes(_FUZZ_SPEC))


@settings(max_examples=100, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_synth_mutations_of_an_aligned_file_raise_only_xcformat_errors(tmp_path, fuzz_image,
                                                                        data):
    from xcformat.aligned import FORMAT
    from xcformat.errors import XcFormatError
    from xcformat.formats import Hints
    from xcformat.io import open_source

    mutant = data.draw(st.one_of(mutations(fuzz_image), truncations(fuzz_image)))
    (tmp_path / "m").write_bytes(mutant)
    try:
        with open_source(str(tmp_path / "m")) as source:
            for _ in FORMAT.reader(source, Hints()).records():
                pass
        with open_source(str(tmp_path / "m")) as source:
            FORMAT.page_lookup(source, data.draw(st.integers(0, 40)))
    except XcFormatError:
        pass


@pytest.mark.parametrize("align", [False, True])
def test_v2_to_aligned_and_back_is_byte_identical(tmp_path, align, capsys):
    """aligned carries records, not legacy bytes: a v2 image comes back exactly too."""
    spec = GuestSpec(guest="pv", variant="4.5", pages=60, batch=16, vcpus=2, xsave=True)
    (tmp_path / "in").write_bytes(legacy_bytes(spec))
    extra = ["--align"] if align else []
    steps = [("in", "a.v2", "v2", extra), ("a.v2", "b", "aligned", []),
             ("b", "c.v2", "v2", extra)]
    for source, target, fmt, options in steps:
        assert main(["convert", str(tmp_path / source), str(tmp_path / target), "--to", fmt,
                     "--no-progress", *options]) == 0
    assert (tmp_path / "c.v2").read_bytes() == (tmp_path / "a.v2").read_bytes()


def test_core_dump_to_aligned_and_back_is_byte_identical(tmp_path, capsys):
    spec = GuestSpec(guest="pv", variant="4.5", pages=60, batch=16)
    (tmp_path / "in").write_bytes(legacy_bytes(spec))
    for source, target, fmt in (("in", "a.core", "core"), ("a.core", "b", "aligned"),
                                ("b", "c.core", "core")):
        assert main(["convert", str(tmp_path / source), str(tmp_path / target), "--to", fmt,
                     "--no-progress"]) == 0
    assert (tmp_path / "c.core").read_bytes() == (tmp_path / "a.core").read_bytes()
