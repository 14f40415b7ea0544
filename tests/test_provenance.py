"""ImageHeader.provenance: what each reader says it read, and its text form (aligned v1 stores
the text, so every label must read back as itself)."""

from __future__ import annotations

import pytest

import xcformat
from xcformat.records import GuestType, ImageHeader, Provenance, Saver
from xcformat.synth import GuestSpec, legacy_bytes


@pytest.mark.parametrize("label,provenance", [
    ("legacy-pv", Provenance("legacy", layout="pv")),
    ("legacy-hvm", Provenance("legacy", layout="hvm")),
    ("v2", Provenance("v2", 2)),
    ("v3+libxl", Provenance("v2", 3, toolstack=Saver.LIBXL)),
    ("elf64", Provenance("core", layout="elf64")),
    ("format-a", Provenance("core", layout="format-a")),
    ("legacy-4.1+", Provenance("legacy", layout="4.1+")),   # text older files hold
    ("model", Provenance("model")),
    ("", Provenance("")),
])
def test_a_label_and_its_provenance_are_one_another(label, provenance):
    assert provenance.label == label and Provenance.from_label(label) == provenance


def test_the_old_variant_text_is_refused_where_a_provenance_belongs():
    with pytest.raises(TypeError, match="from_label"):
        ImageHeader(GuestType.PV, 4, 64, 64, None, "legacy-pv")  # type: ignore[arg-type]


@pytest.mark.parametrize("to,options,expected", [
    ("legacy", {}, Provenance("legacy", layout="hvm")),
    ("v2", {"drop": ["toolstack", "emulator"]}, Provenance("v2", 3)),
    ("v2", {"version": 2, "wrap": "libxl"}, Provenance("v2", 2, toolstack=Saver.LIBXL)),
    ("core", {}, Provenance("core", layout="elf64")),
])
def test_each_reader_says_what_it_read_and_aligned_passes_it_on(tmp_path, to, options, expected):
    source = tmp_path / "in"
    source.write_bytes(legacy_bytes(GuestSpec(guest="hvm", pages=16)))
    with xcformat.open(str(source)) as image:
        image.convert(str(tmp_path / "out"), to, on_message=lambda _: None, **options)
    with xcformat.open(str(tmp_path / "out"), guest="hvm") as image:
        image.convert(str(tmp_path / "out.xcal"), "aligned", on_message=lambda _: None)
    for path in ("out", "out.xcal"):
        with xcformat.open(str(tmp_path / path), guest="hvm") as image:
            header = next(r for r in image.records() if isinstance(r, ImageHeader))
        assert header.provenance == expected, path
