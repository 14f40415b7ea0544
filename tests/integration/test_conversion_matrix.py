"""Every conversion path the issues promise, through the real CLI, on a spread of synth variants.

legacy → aligned → legacy and v2 → v2 are byte-identical; legacy → v2 → legacy keeps every final
page and every vCPU context; ``--align`` puts every page at a 4096-aligned offset (checked from
``map --json``); each format → core gives a dump from which ``page`` reads every pfn as synth
wrote it.  What v2 cannot carry is refused (exit 1, a message naming the --drop) or dropped with
``--drop``, and reported.
"""

from __future__ import annotations

import json

import pytest

from xcformat import synth

from .cli_runner import xcformat
from .images import guest_state

#: HVM: the -18 physmap and the qemu record need a libxl layer (--wrap libxl) in v2.
HVM_ONLY_LIBXL = ("toolstack", "emulator")
#: name -> (spec, extra input options, what a bare v2 stream cannot carry: --drop kinds)
VARIANTS = {
    "pv-64-64": (synth.GuestSpec(pages=24, vcpus=2), [], ()),
    "pv-64-32": (synth.GuestSpec(pages=24, guest_bits=32, vcpus=2), [], ()),
    "pv-32-32": (synth.GuestSpec(pages=24, toolstack_bits=32, vcpus=2), [], ()),
    "hvm-64": (synth.GuestSpec(guest="hvm", pages=24, vcpus=2), [], HVM_ONLY_LIBXL),
    "hvm-32": (synth.GuestSpec(guest="hvm", pages=24, toolstack_bits=32), [], HVM_ONLY_LIBXL),
    "pv-3.2": (synth.GuestSpec(variant="3.2", pages=24, vcpus=2), [], ()),
    "hvm-3.2": (synth.GuestSpec(guest="hvm", variant="3.2", pages=24),
                ["--guest", "hvm"], ("emulator",)),
    "pv-3.0": (synth.GuestSpec(variant="3.0", pages=24), ["--guest", "pv"], ()),
    "remus-pv": (synth.GuestSpec(variant="remus", pages=24, checkpoints=3), [], ()),
    "xl-xsave": (synth.GuestSpec(pages=24, wrapper="xl", xsave=True, vcpus=2), [], ()),
    "xend-remus": (synth.GuestSpec(variant="remus", pages=24, wrapper="xend"), [], ("config",)),
    "pv-specials": (synth.GuestSpec(pages=24, special_pages=True), [], ("unmapped-pfns",)),
    "hvm-specials": (synth.GuestSpec(guest="hvm", pages=24, special_pages=True), [],
                     HVM_ONLY_LIBXL),
}


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def image(request, tmp_path_factory):
    spec, hint, cannot = VARIANTS[request.param]
    folder = tmp_path_factory.mktemp(request.param)
    path = folder / "in.legacy"
    synth.write_legacy(spec, path)
    return path, spec, hint, cannot


def convert(src, dst, to, *options):
    result = xcformat("convert", src, dst, "--to", to, "--no-progress", *options)
    assert result.code == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def to_v2(src, dst, hint, cannot, *options):
    """legacy → v2, checking a refusal first where v2 cannot carry something."""
    dst.unlink(missing_ok=True)
    if cannot:
        refused = xcformat("convert", src, dst, "--to", "v2", "--no-progress", *hint, *options)
        assert refused.code == 1
        assert str(src) in refused.stderr
        assert any(f"--drop {kind}" in refused.stderr for kind in cannot)
        assert not dst.exists()
        options = (*options, "--drop", ",".join(cannot))
    result = convert(src, dst, "v2", *hint, *options)
    for kind in cannot:
        assert "dropped" in result.stderr and f"--drop {kind}" in result.stderr


def test_aligned_round_trip_is_byte_identical(image):
    src, _, hint, _ = image
    aligned, back = src.with_suffix(".aligned"), src.with_suffix(".back")
    convert(src, aligned, "aligned", *hint)
    assert xcformat("validate", aligned).code == 0
    convert(aligned, back, "legacy")
    assert back.read_bytes() == src.read_bytes()


@pytest.mark.parametrize("align", [False, True], ids=["plain", "align"])
def test_v2_round_trip_keeps_pages_and_contexts(image, align):
    src, spec, hint, cannot = image
    v2, again, back = (src.with_suffix(s) for s in (".v2", ".v2v2", ".v2legacy"))
    to_v2(src, v2, hint, cannot, *(["--align"] if align else []))
    assert xcformat("validate", v2).code == 0
    convert(v2, again, "v2")
    assert again.read_bytes() == v2.read_bytes()
    convert(v2, back, "legacy")
    # v2 sends HVM state after the pages, so an HVM legacy image written from it starts with a
    # batch: the bytes cannot tell it from a pre-3.2 PV stream, and --guest must (as for Xen).
    checked = xcformat("validate", back, "--guest", spec.guest)
    assert checked.code == 0, checked.output
    pages, vcpus = guest_state(src, spec.guest)
    assert guest_state(v2)[0] == pages
    back_pages, back_vcpus = guest_state(back, spec.guest)
    assert back_pages == pages
    # A source without extended contexts gets zeroed ones: restorers since 3.2 expect "extv".
    assert {k: v for k, v in back_vcpus.items() if k in vcpus or k[0] != "extended"} == vcpus


def test_v2_align_puts_every_page_on_a_block(image):
    src, _, hint, cannot = image
    v2 = src.with_suffix(".v2align")
    to_v2(src, v2, hint, cannot, "--align")
    mapped = xcformat("map", v2, "--json", "--all")
    assert mapped.code == 0, mapped.stderr
    regions = [r for r in json.loads(mapped.stdout)["regions"] if r["kind"] == "page-data"]
    assert regions
    assert all(r["offset"] % 4096 == 0 and r["length"] % 4096 == 0 for r in regions)
    data = v2.read_bytes()
    pages, _ = guest_state(src, image[1].guest)
    found = {data[at:at + 4096] for r in regions
             for at in range(r["offset"], r["offset"] + r["length"], 4096)}
    assert set(pages.values()) <= found


@pytest.mark.parametrize("via", ["legacy", "aligned", "v2"])
def test_core_dump_holds_every_final_page(image, via):
    src, spec, hint, cannot = image
    middle, dump, page = (src.with_suffix(s) for s in (f".{via}", f".{via}.core", ".page"))
    if via == "legacy":
        middle = src
    elif via == "v2":
        to_v2(src, middle, hint, cannot)
    else:
        convert(src, middle, via, *hint)
    convert(middle, dump, "core", *(hint if via == "legacy" else []))
    assert xcformat("validate", dump).code == 0
    expected = synth.expected(spec)
    for pfn in expected.data_pfns():
        found = xcformat("page", dump, "--pfn", pfn, "-o", page)
        assert found.code == 0, found.stderr
        assert page.read_bytes() == expected.content(pfn), pfn


# xen-4.6+ restores v2 version 2 only: the writer is asked for version 2.
@pytest.mark.parametrize("target, format_name", [("xen-4.5", "legacy"), ("xen-4.6+", "v2"),
                                                 ("xen-4.14+", "v2"), ("xcformat", "aligned")])
def test_auto_for_picks_a_format_its_reader_takes(image, target, format_name):
    src, spec, hint, cannot = image
    out = src.with_suffix(f".for-{target}")
    options = ["--drop", ",".join(cannot)] if cannot and format_name == "v2" else \
        ["--drop", "config"] if spec.wrapper == "xend" and target != "xcformat" else []
    result = xcformat("convert", src, out, "--to", "auto", "--for", target, "--no-progress",
                      *hint, *options)
    assert result.code == 0, result.stderr
    info = json.loads(xcformat("info", out, "--json", *hint).stdout)
    assert info["format"] == format_name
    # xl restore, the only restore of these Xen releases, reads xl save files only
    if target != "xcformat":
        assert info["wrapper"] == "xl"
    if format_name == "aligned":
        convert(out, src.with_suffix(".for-back"), "legacy")
        assert src.with_suffix(".for-back").read_bytes() == src.read_bytes()
    else:
        assert guest_state(out, spec.guest)[0] == guest_state(src, spec.guest)[0]
