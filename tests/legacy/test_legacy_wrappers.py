"""xl and xend wrappers: exact rewrites of every optional-data shape, and clear refusals."""

import struct

import pytest

from helpers import read_all, rewrite
from xcformat.errors import FormatError
from xcformat.records import Wrapper
from xcformat.synth import GuestSpec, expected, legacy_bytes

SPEC = GuestSpec(pages=16)
STREAM = legacy_bytes(SPEC)
XL_MAGIC = b"Xen saved domain, xl format\n \0 \r"


def xl(optional: bytes, mandatory: int = 0, order: int = 0x01020304) -> bytes:
    return XL_MAGIC + struct.pack("<IIII", order, mandatory, 0, len(optional)) + optional


@pytest.mark.parametrize("head,config,fields", [
    (xl(b""), b"", {"config_framed": False, "optional_tail": b""}),
    (xl(struct.pack("<I", 3) + b"a=1"), b"a=1", {"config_framed": True, "optional_tail": b""}),
    (xl(struct.pack("<I", 2) + b"{}" + b"tail", mandatory=1), b"{}",
     {"config_framed": True, "optional_tail": b"tail", "mandatory_flags": 1}),
    (b"LinuxGuestRecord" + struct.pack(">i", 5) + b"(vm )", b"(vm )", {}),
])
def test_wrappers_round_trip_exactly(tmp_path, head, config, fields):
    (tmp_path / "in").write_bytes(head + STREAM)
    records, _, _ = read_all(tmp_path / "in")
    wrapper = records[0]
    assert isinstance(wrapper, Wrapper) and wrapper.config == config
    assert fields.items() <= wrapper.fields.items()
    rewrite(tmp_path / "in", tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == head + STREAM


@pytest.mark.parametrize("head,field", [
    (xl(b"", order=0x04030201), "xl_header.byteorder"),
    (xl(b"", mandatory=4), "xl_header.mandatory_flags"),
    (xl(struct.pack("<I", 9) + b"short"), "xl_config.config_length"),
    (xl(b"ab"), "xl_config.config_length"),
    (b"LinuxGuestRecord" + struct.pack(">i", -1), "xend_header.config_length"),
])
def test_broken_wrappers_are_refused_with_their_field(tmp_path, head, field):
    (tmp_path / "in").write_bytes(head + STREAM)
    with pytest.raises(FormatError) as caught:
        read_all(tmp_path / "in")
    assert caught.value.field == field


def test_xl_json_config_raises_the_version_floor_to_4_5(tmp_path):
    (tmp_path / "plain").write_bytes(xl(struct.pack("<I", 1) + b"x") + STREAM)
    (tmp_path / "json").write_bytes(xl(struct.pack("<I", 2) + b"{}", mandatory=1) + STREAM)
    assert expected(SPEC).min_xen_version == "4.2"
    assert read_all(tmp_path / "plain")[1]["min_xen_version"] == "4.2"
    assert read_all(tmp_path / "json")[1]["min_xen_version"] == "4.5"
