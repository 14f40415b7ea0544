"""Mutated and truncated v2 streams raise only xcformat's own errors, and never hang."""

import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from v2_raw import hvm_stream, pv_stream, rec
from v2_helpers import read

from xcformat.errors import XcFormatError

LIBXL = b"LibxlFmt" + struct.pack(">II", 2, 0) + rec(1)
XL = b"Xen saved domain, xl format\n \0 \r" + struct.pack("<IIII", 0x01020304, 2, 0, 8) + \
    struct.pack("<I", 3) + b"cfg\0"
SEEDS = [pv_stream(), hvm_stream(), pv_stream(version=2),
         XL + LIBXL + hvm_stream() + rec(2, struct.pack("<II", 0, 0) + b"k\0v\0") +
         rec(3, struct.pack("<II", 0, 0) + b"qemu") + rec(0)]


@st.composite
def mutated(draw):
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data) - 1))
        data[at] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[:draw(st.integers(0, len(data)))]
    return bytes(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(data=mutated())
def test_mutated_streams_raise_only_xcformat_errors(tmp_path, data):
    path = tmp_path / "m"
    path.write_bytes(data)
    try:
        read(path)
    except XcFormatError:
        pass


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(seed=st.sampled_from(SEEDS), cut=st.integers(0, 100_000))
def test_truncated_streams_raise_only_xcformat_errors(tmp_path, seed, cut):
    path = tmp_path / "t"
    path.write_bytes(seed[:cut % max(1, len(seed))])
    try:
        read(path)
    except XcFormatError:
        pass


@settings(max_examples=60, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
@given(data=st.data())
def test_hostile_copies_of_converted_guests_raise_only_xcformat_errors(tmp_path, data):
    testing = __import__("pytest").importorskip("xcformat.testing")
    image = data.draw(testing.v2_images(max_pages=24))
    hostile = data.draw(testing.mutations(image))
    path = tmp_path / "h"
    path.write_bytes(hostile)
    try:
        read(path)
    except XcFormatError:
        pass


def test_the_public_v2_strategy_gives_valid_streams(tmp_path):
    testing = __import__("pytest").importorskip("xcformat.testing")
    from xcformat.synth import GuestSpec
    for wrap, align in (("xl", True), ("libxl", False), ("libxc", True)):
        path = tmp_path / f"{wrap}{align}"
        path.write_bytes(testing.v2_bytes(GuestSpec(guest="hvm", pages=16), align=align,
                                          wrap=wrap))
        records, findings = read(path)
        assert [f for f in findings if f.level == "error"] == []
        assert sum(len(r.pfns) for r in records if type(r).__name__ == "PageBatch") >= 16


def test_prepass_survives_a_page_data_record_with_no_entries(tmp_path):
    """Found by the hostile-copies property: PAGE_DATA with count 0 broke the p2m_size pre-pass."""
    import struct

    from xcformat.io import open_source
    from xcformat.v2.prepass import hvm_p2m_size

    path = tmp_path / "empty-page-data"
    path.write_bytes(struct.pack("<IIII", 1, 16, 0, 0) + bytes(8) + struct.pack("<II", 0, 0))
    with open_source(str(path)) as source:
        assert hvm_p2m_size(source, 0) is None
