"""Detection from the first bytes (fact sheet §9)."""

import struct

import pytest

import image
from xcformat.formats import Hints
from xcformat.legacy.sniff import layout, sniff
from xcformat.records import GuestType


@pytest.mark.parametrize("w,g", [(32, 32), (32, 64), (64, 32), (64, 64)])
def test_pv_with_ext_info_gives_both_widths(w, g):
    verdict = sniff(bytes(image.pv(w, g)))
    assert verdict.format == "legacy" and not verdict.certain and not verdict.undecided
    assert verdict.facts == {"wrapper": None, "toolstack_bits": w, "guest": "pv",
                             "guest_bits": g}


@pytest.mark.parametrize("w", [32, 64])
def test_hvm_starting_with_a_chunk_is_hvm(w):
    verdict = sniff(bytes(image.hvm(w)))
    assert verdict.facts["guest"] == "hvm" and verdict.facts["toolstack_bits"] == w


def test_hvm_starting_with_a_batch_and_old_pv_cannot_be_told_apart():
    old_hvm = bytes(image.hvm(32, dev2007=True))
    old_pv = bytes(image.pv(32, 32, ext=(), chunks=False))
    for head in (old_hvm, old_pv):
        verdict = sniff(head)
        assert verdict.undecided == ("guest",) and verdict.facts["guest"] is None
    assert layout(old_pv, Hints(guest=GuestType.PV)).guest is GuestType.PV
    assert layout(old_pv, Hints(guest=GuestType.PV)).undecided == ()


def test_a_large_first_frame_pfn_can_only_be_pv():
    data = struct.pack("<II", 0x100000, 5000)
    assert layout(data).guest is GuestType.PV


@pytest.mark.parametrize("wrap,kind", [(image.xl, "xl"), (image.xend, "xend")])
def test_wrappers_are_certain_and_give_the_stream_offset(wrap, kind):
    img = wrap(image.pv(64, 64))
    verdict = sniff(bytes(img))
    assert verdict.certain and verdict.facts["wrapper"] == kind
    assert layout(bytes(img)).stream_offset == img.at["p2m_size"]


@pytest.mark.parametrize("head", [
    b"\xff" * 8 + b"XENF" + bytes(20),                              # libxc v2
    b"LibxlFmt" + bytes(24),                                        # libxl v2
    bytes(image.xl(image.pv(64, 64), mandatory=2).data[:64]),       # xl around a v2 stream
    b"\x7fELF\x02\x01\x01" + bytes(57),                             # a core dump
    b"",
])
def test_other_formats_are_not_claimed(head):
    assert sniff(head) is None


def test_width_hint_overrides_the_bytes():
    assert layout(bytes(image.pv(64, 64)), Hints(toolstack_bits=32)).toolstack_bits == 32
