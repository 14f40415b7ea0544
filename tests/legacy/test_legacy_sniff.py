"""Detection from the first bytes."""

import struct

import pytest

from xcformat.errors import EnvironmentProblem
from xcformat.formats import Hints
from xcformat.legacy.sniff import shape, sniff
from xcformat.records import GuestType
from xcformat.synth import GuestSpec, expected, legacy_bytes


def image(**fields) -> bytes:
    return legacy_bytes(GuestSpec(pages=16, **fields))


@pytest.mark.parametrize("w,g", [(32, 32), (32, 64), (64, 32), (64, 64)])
def test_pv_with_ext_info_gives_both_widths(w, g):
    verdict = sniff(image(toolstack_bits=w, guest_bits=g))
    assert verdict.format == "legacy" and not verdict.certain and not verdict.undecided
    assert verdict.facts == {"wrapper": None, "toolstack_bits": w, "guest": "pv",
                             "guest_bits": g}


@pytest.mark.parametrize("w", [32, 64])
def test_hvm_starting_with_a_chunk_is_hvm(w):
    verdict = sniff(image(guest="hvm", toolstack_bits=w))
    assert verdict.facts["guest"] == "hvm" and verdict.facts["toolstack_bits"] == w


def test_hvm_starting_with_a_batch_and_old_pv_cannot_be_told_apart():
    old_hvm = image(guest="hvm", variant="3.1", toolstack_bits=32)
    old_pv = image(variant="3.0", toolstack_bits=32)
    for head in (old_hvm, old_pv):
        verdict = sniff(head)
        assert verdict.undecided == ("guest",) and verdict.facts["guest"] is None
    assert shape(old_pv, Hints(guest=GuestType.PV)).guest is GuestType.PV
    assert shape(old_pv, Hints(guest=GuestType.PV)).undecided == ()


def test_a_large_first_frame_pfn_can_only_be_pv():
    assert shape(struct.pack("<II", 0x100000, 5000)).guest is GuestType.PV


@pytest.mark.parametrize("kind", ["xl", "xend"])
def test_wrappers_are_certain_and_give_the_stream_offset(kind):
    spec = GuestSpec(pages=16, wrapper=kind, variant="4.5" if kind == "xl" else "3.2")
    verdict = sniff(legacy_bytes(spec))
    assert verdict.certain and verdict.facts["wrapper"] == kind
    assert shape(legacy_bytes(spec)).stream_offset == expected(spec).stream_offset


def xl_v2_head() -> bytes:
    head = bytearray(image(wrapper="xl")[:64])
    struct.pack_into("<I", head, 36, 2)           # mandatory flag STREAMv2
    return bytes(head)


@pytest.mark.parametrize("head", [
    b"\xff" * 8 + b"XENF" + bytes(20),            # libxc v2
    b"LibxlFmt" + bytes(24),                      # libxl v2
    xl_v2_head(),                                 # xl around a v2 stream
    b"\x7fELF\x02\x01\x01" + bytes(57),           # a core dump
    b"",
])
def test_other_formats_are_not_claimed(head):
    assert sniff(head) is None


def test_width_hint_overrides_the_bytes():
    assert shape(image(), Hints(toolstack_bits=32)).toolstack_bits == 32


def test_a_guest_hint_contradicting_the_bytes_is_refused():
    with pytest.raises(EnvironmentProblem, match="the bytes say PV"):
        shape(image(), Hints(guest=GuestType.HVM))
    with pytest.raises(EnvironmentProblem, match="the bytes say HVM"):
        shape(image(guest="hvm"), Hints(guest=GuestType.PV))
