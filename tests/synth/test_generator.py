"""Determinism, streaming, sizes, and the spec's refusals."""

import io
import re

import pytest

from xcformat.synth import (
    SAMPLE,
    GuestSpec,
    expected,
    legacy_bytes,
    page_content,
    sample,
    write_legacy,
)


def test_same_seed_same_bytes_other_seed_other_pages():
    spec = GuestSpec(guest="hvm", pages=64, seed=7)
    assert legacy_bytes(spec) == legacy_bytes(GuestSpec(guest="hvm", pages=64, seed=7))
    other = legacy_bytes(GuestSpec(guest="hvm", pages=64, seed=8))
    assert len(other) == len(legacy_bytes(spec)) and other != legacy_bytes(spec)


def test_page_content_is_stamped_with_pfn_and_version():
    page = page_content(3, 0x1234, 5)
    assert len(page) == 4096
    stamp = (0x1234 | 5 << 32).to_bytes(8, "little")
    assert page[:8] == page[2048:2056] == page[-8:] == stamp
    assert page != page_content(3, 0x1234, 6) != page_content(3, 0x1235, 5)
    assert page_content(3, 0x1234, 5)[8:2048] == page_content(3, 99, 0)[8:2048]


@pytest.mark.parametrize("spec", [
    GuestSpec(pages=3000, xsave=True, vcpus=4, special_pages=True, batch=1000),
    GuestSpec(variant="remus", guest="hvm", pages=2500, checkpoints=3, tmem=True),
])
def test_streaming_writer_equals_legacy_bytes(tmp_path, spec):
    data = legacy_bytes(spec)
    path = tmp_path / "image"
    assert write_legacy(spec, path) == len(data) == expected(spec).size
    assert path.read_bytes() == data
    buf = io.BytesIO()
    write_legacy(spec, buf)
    assert buf.getvalue() == data


def test_sizes_add_up():
    # PV 64/64 4.5, no xsave: header 8, ext-info 8+4+5176+8, frames 8, -7 24,
    # one batch 4+8*40 + 40 pages, -2 16, -18 16, -9 4, 0 4,
    # tail 4 + 5168 + 128 + 4096.
    spec = GuestSpec(pages=40, p2m_size=40)
    head = 8 + 8 + 4 + (8 + 5168) + 8 + 8 + 24
    body = (4 + 8 * 40 + 40 * 4096) + 16 + 16 + 4 + 4
    tail = 4 + 5168 + 128 + 4096
    assert len(legacy_bytes(spec)) == expected(spec).size == head + body + tail


def test_sample_is_a_few_mib_and_what_the_demo_expects(tmp_path):
    path = tmp_path / "sample.xl"
    spec = sample(path)
    assert spec == SAMPLE
    e = expected(spec)
    assert 1 << 20 < path.stat().st_size == e.size < 8 << 20
    assert (e.guest, e.toolstack_bits, e.guest_bits, e.variant) == ("pv", 64, 64, "4.5")
    assert "xcnt" in e.ext_info and path.read_bytes()[:4] == b"Xen "


@pytest.mark.parametrize("kw, message", [
    (dict(variant="4.6"), "unknown variant"),
    (dict(variant="3.0", guest="hvm"), "no hvm"),
    (dict(variant="3.1", guest_bits=32), "32-on-64"),
    (dict(variant="3.2", xsave=True), "no xsave"),
    (dict(variant="3.0", vcpus=2), "vcpu 0 only"),
    (dict(guest="hvm", guest_bits=64), "PV guests only"),
    (dict(pages=5), "needs more than"),
    (dict(pages=100, p2m_size=50), "leaves no room"),
    (dict(p2m_size=1 << 28, pages=100), "28 pfn bits"),
    (dict(guest="hvm", hvm_params={-3: 1}, variant="3.2"), "do not occur"),
    (dict(hvm_params={-3: 1}), "do not occur"),
    (dict(qemu="DeviceModelRecord0002"), "does not occur"),
    (dict(wrapper="xend"), "does not occur"),
    (dict(batch=1025), "1..1024"),
    (dict(guest="hvm", hvm_params={-3: -1}), "u64"),
    (dict(variant="2007-hvm", guest="hvm", p2m_size=1000), "pages + 0x20"),
])
def test_impossible_specs_are_refused(kw, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        GuestSpec(**kw)


def test_command_line_writes_the_image_and_reports(tmp_path, capsys):
    import json

    from xcformat.synth.__main__ import main

    path = tmp_path / "hvm.img"
    assert main([str(path), "--guest", "hvm", "--size", "1M", "--width", "32"]) == 0
    report = json.loads(capsys.readouterr().out)
    spec = GuestSpec(guest="hvm", toolstack_bits=32, pages=256)
    assert path.read_bytes() == legacy_bytes(spec)
    assert report["bytes"] == expected(spec).size and report["MB_per_s"] > 0
    with pytest.raises(SystemExit):
        main([str(path), "--variant", "3.0", "--guest", "hvm"])


def test_command_line_sample_is_the_sample(tmp_path, capsys):
    from xcformat.synth.__main__ import main

    path = tmp_path / "sample.xl"
    assert main([str(path), "--sample"]) == 0
    assert path.read_bytes() == legacy_bytes(SAMPLE)


@pytest.mark.parametrize("kw, version", [
    (dict(), "4.2"),                                          # -18 is the newest thing present
    (dict(wrapper="xl"), "4.5"),                              # xl header with the JSON flag
    (dict(special_pages=True), "4.3"),                        # BROKEN
    (dict(xsave=True), "4.2"),
    (dict(guest="hvm"), "4.5"),                               # -19/-20 in the default params
    (dict(guest="hvm", hvm_params={-3: 1}), "4.2"),
    (dict(variant="remus"), "4.0"),                           # -7
    (dict(variant="remus", xsave=True), "4.1"),               # "xcnt"
    (dict(variant="remus", guest="hvm", hvm_params={}), "4.0"),
    (dict(variant="remus", guest="hvm", hvm_params={}, qemu="DeviceModelRecord0002"), "4.1"),
    (dict(variant="remus", guest="hvm", special_pages=True), "4.3"),
    (dict(variant="remus", vcpus=(0, 64)), "4.2"),            # a -2 map with m >= 64
    (dict(variant="remus", vcpus=2, xsave=True, xsave_per_vcpu=True), "4.4"),
    (dict(variant="3.2"), "3.2"),                             # "extv"
    (dict(variant="3.2", guest="hvm"), "3.1"),                # -2 only
    (dict(variant="3.1", toolstack_bits=32), "3.1"),
    (dict(variant="3.0.4-pae", toolstack_bits=32), "3.0.3"),  # the lone "vcpu" block
    (dict(variant="3.0"), "3.0"),
    (dict(variant="2007-hvm", guest="hvm"), "3.0"),
])
def test_min_xen_version_follows_what_is_present(kw, version):
    assert expected(GuestSpec(**kw)).min_xen_version == version


def test_page_types_cover_every_page_table_kind():
    e = expected(GuestSpec(pages=2000))
    kinds = {e.page_type(pfn) for pfn in e.data_pfns()}
    assert kinds == {0x0, 0x1, 0x2, 0x3, 0x9, 0xC}            # 4 L1s: pinned and not
    assert e.page_type(e.cr3_pfn) == 0xC and e.page_type(e.p2m_size) is None
    pae = expected(GuestSpec(guest_bits=32, pages=1500))
    assert pae.page_type(pae.cr3_pfn) == 0xB


def test_live_and_verify_layouts_follow_xen_4_5s_body_order():
    # A live save sends -5 first, then -6 and -7 when the last iteration starts.
    live = expected(GuestSpec(live=True, tmem=True))
    assert live.chunks == (-5, -6, -7, -2, -18, -9) and live.page_records > live.pages
    plain = expected(GuestSpec(tmem=True))
    assert plain.chunks == (-5, -7, -2, -18, -9) and plain.page_records == plain.pages
    # With the debug flag: -1 then a complete second copy of every page.
    verify = expected(GuestSpec(verify=True))
    assert verify.chunks == (-7, -1, -2, -18, -9) and verify.page_records == 2 * verify.pages
    assert expected(GuestSpec(variant="3.0", verify=True)).chunks == (-1,)


def test_chunk_offsets_point_at_their_ids():
    spec = GuestSpec(guest="hvm", pages=40, wrapper="xl", tmem=True)
    data, e = legacy_bytes(spec), expected(spec)
    assert sorted(e.chunk_offsets) == sorted(set(e.chunks))
    for cid, offsets in e.chunk_offsets.items():
        assert all(int.from_bytes(data[at:at + 4], "little", signed=True) == cid
                   for at in offsets)


def test_remus_compression_uses_raw_pages_then_deltas():
    from xcformat.synth.compression import RAW, delta

    old, new = page_content(1, 5, 2), page_content(1, 5, 9)
    encoded = delta(old, new)
    # Three changed stamps (two u32 words each) between skips: far smaller than a raw page.
    assert len(encoded) < 64 and encoded[0] not in (0x00, 0x80) and delta(old, old) == b"\0"
    spec = GuestSpec(variant="remus", pages=60, checkpoints=10, compression=True)
    data, e = legacy_bytes(spec), expected(spec)
    assert e.chunks.count(-13) == 1 and e.chunks.count(-12) == spec.checkpoints - 1
    first, last = e.chunk_offsets[-12][0], e.chunk_offsets[-12][-1]
    assert data[first + 12:first + 13] == RAW                 # nothing cached yet: raw pages
    assert data[last + 12:last + 13] not in (RAW, b"\0")      # version 10 against version 3


def test_command_line_reports_an_unwritable_output(tmp_path, capsys):
    from xcformat.synth.__main__ import main

    assert main([str(tmp_path / "missing" / "image"), "--pages", "40"]) == 2
    assert "No such file or directory" in capsys.readouterr().err
