"""Every strictness rule of the v2 reader has an input that breaks it."""

import struct

import pytest

from v2_helpers import findings_of, read
from v2_raw import (END, SDE, SHINFO, dhdr, hvm_context, hvm_params, hvm_stream, ihdr, p2m,
                    page_data, pv_info, pv_stream, rec, tsc, vcpu)

from xcformat.errors import FormatError, TruncatedError
from xcformat.records import Opaque

T = 0x1000_0000_0000_0000   # one page-type step in a v2 pfn entry


def errors(findings):
    return [f for f in findings if f.level == "error"]


def test_the_minimal_streams_are_valid(tmp_path):
    for data in (pv_stream(), pv_stream(version=2), hvm_stream(), hvm_stream(version=2)):
        assert errors(findings_of(tmp_path / "s", data)) == []


PV_V3 = [pv_info(), SDE, p2m(), page_data([0, 1, 2, 3]), tsc(), vcpu(), SHINFO]

# (name, stream, message fragment, field fragment): each must give an error finding
FINDINGS = [
    ("v3 without STATIC_DATA_END", pv_stream(middle=[r for r in PV_V3 if r != SDE]),
     "before STATIC_DATA_END", "P2M_FRAMES"),
    ("v3 missing STATIC_DATA_END at END",
     pv_stream(middle=[r for r in PV_V3 if r != SDE]), "no STATIC_DATA_END", "END"),
    ("STATIC_DATA_END in v2", pv_stream(version=2, middle=[pv_info(), SDE] + PV_V3[2:]),
     "only in v3", "STATIC_DATA_END"),
    ("CPUID policy after STATIC_DATA_END",
     pv_stream(middle=PV_V3[:2] + [rec(0x11, bytes(24))] + PV_V3[2:]), "static data",
     "CPUID"),
    ("P2M_FRAMES before X86_PV_INFO", pv_stream(middle=[SDE, p2m(), pv_info()] + PV_V3[3:]),
     "before X86_PV_INFO", "P2M_FRAMES"),
    ("PAGE_DATA before P2M_FRAMES",
     pv_stream(middle=[pv_info(), SDE, page_data([0]), p2m()] + PV_V3[4:]),
     "before X86_PV_P2M_FRAMES", "PAGE_DATA"),
    ("HVM record in a PV stream", pv_stream(middle=PV_V3 + [hvm_context()]),
     "does not belong", "HVM_CONTEXT"),
    ("PV record in an HVM stream", hvm_stream(middle=[SDE, page_data([0]), SHINFO,
                                                      hvm_context()]),
     "does not belong", "SHARED_INFO"),
    ("HVM without HVM_CONTEXT", hvm_stream(middle=[SDE, page_data([0]), tsc()]),
     "no HVM_CONTEXT", "END"),
    ("PV without vCPU 0", pv_stream(middle=PV_V3[:5] + [vcpu(vcpu_id=1), SHINFO]),
     "vCPU 0", "END"),
    ("PV without PAGE_DATA", pv_stream(middle=PV_V3[:3] + PV_V3[4:]), "no PAGE_DATA", "END"),
    ("second SHARED_INFO", pv_stream(middle=PV_V3 + [SHINFO]), "second SHARED_INFO",
     "SHARED_INFO"),
    ("second BASIC for a vCPU", pv_stream(middle=PV_V3 + [vcpu()]), "second", "VCPU_BASIC"),
    ("non-zero padding", hvm_stream(middle=[SDE, page_data([0]), tsc(),
                                            rec(0x09, hvm_context()[8:-4], pad=b"\1\0\0\0"),
                                            ]), "padding", "HVM_CONTEXT"),
    ("image header reserved", ihdr(3, res2=1) + pv_stream()[24:], "reserved", "image header"),
    ("domain header reserved", ihdr(3) + dhdr(1, res=1) + pv_stream()[40:], "reserved",
     "domain header"),
    ("PAGE_DATA reserved", pv_stream(middle=PV_V3[:3] + [page_data([0], res=1)] + PV_V3[4:]),
     "reserved", "PAGE_DATA"),
    ("pfn reserved bits", pv_stream(middle=PV_V3[:3] + [page_data([1 << 55])] + PV_V3[4:]),
     "reserved pfn bits", "PAGE_DATA"),
    ("pfn beyond the p2m", pv_stream(middle=PV_V3[:3] + [page_data([4])] + PV_V3[4:]),
     "beyond the p2m", "PAGE_DATA"),
    ("page-table type in HVM", hvm_stream(middle=[SDE, page_data([0x1 * T | 5]),
                                                  hvm_context()]),
     "page-table", "PAGE_DATA"),
    ("X86_PV_INFO reserved", pv_stream(middle=[pv_info(res=1)] + PV_V3[1:]), "reserved",
     "X86_PV_INFO"),
    ("TSC reserved", pv_stream(middle=PV_V3[:4] + [tsc(res=1)] + PV_V3[5:]), "reserved",
     "TSC"),
    ("TSC mode", pv_stream(middle=PV_V3[:4] + [tsc(mode=4)] + PV_V3[5:]), "TSC mode", "TSC"),
    ("HVM_PARAMS reserved", hvm_stream(middle=[SDE, page_data([0]), hvm_params(res=1),
                                               hvm_context()]), "reserved", "HVM_PARAMS"),
    ("BASIC size for the width", pv_stream(middle=PV_V3[:5] + [vcpu(size=2800), SHINFO]),
     "64-bit guest", "VCPU_BASIC"),
    ("EXTENDED too big", pv_stream(middle=PV_V3 + [vcpu(0x05, size=136)]), "at most 128",
     "EXTENDED"),
    ("MSRS not a multiple of 16", pv_stream(middle=PV_V3 + [vcpu(0x0C, size=24)]),
     "multiple of 16", "MSRS"),
    ("vCPU header reserved", pv_stream(middle=PV_V3[:5] + [vcpu(res=1), SHINFO]),
     "reserved", "VCPU_BASIC"),
    ("MSR policy flags", pv_stream(middle=PV_V3[:1] + [rec(0x12, struct.pack("<IIQ", 1, 1, 0))]
                                   + PV_V3[1:]), "reserved", "MSR_POLICY"),
    ("P2M frames start not 0", pv_stream(middle=PV_V3[:2] + [p2m(start=1)] + PV_V3[3:]),
     "start_pfn", "P2M_FRAMES"),
    ("HVM context framing", hvm_stream(middle=[SDE, page_data([0]), rec(0x09, bytes(16))]),
     "HEADER", "HVM_CONTEXT"),
    ("bytes after END", pv_stream() + b"\0" * 8, "after the end", "END"),
]


@pytest.mark.parametrize("name,data,message,field", FINDINGS, ids=[c[0] for c in FINDINGS])
def test_each_rule_reports_an_error_naming_offset_and_record(tmp_path, name, data, message,
                                                             field):
    found = errors(findings_of(tmp_path / "s", data))
    hits = [f for f in found if message in f.message and field in (f.field or "")]
    assert hits, found
    assert all(h.offset is not None and 0 <= h.offset <= len(data) for h in hits)


FATAL = [
    ("page type 5", pv_stream(middle=PV_V3[:3] + [page_data([5 * T], data_pages=0)] +
                              PV_V3[4:]), "invalid"),
    ("PAGE_DATA count 0", pv_stream(middle=PV_V3[:3] + [rec(0x01, bytes(8))] + PV_V3[4:]),
     "at least one entry"),
    ("PAGE_DATA length", pv_stream(middle=PV_V3[:3] + [page_data([0, 1], data_pages=1)] +
                                   PV_V3[4:]), "need"),
    ("unknown mandatory record", pv_stream(middle=PV_V3 + [rec(0x13)]), "mandatory"),
    ("REC_LENGTH_MAX", pv_stream(middle=PV_V3 + [struct.pack("<II", 9, (128 << 20) + 8)]),
     "REC_LENGTH_MAX"),
    ("X86_PV_INFO length", pv_stream(middle=[rec(0x02, bytes(16))] + PV_V3[1:]), "must be 8"),
    ("X86_PV_INFO width", pv_stream(middle=[pv_info(8, 3)] + PV_V3[1:]), "paging levels"),
    ("END with a body", pv_stream(middle=PV_V3)[:-8] + rec(0, bytes(8)), "must be 0"),
    ("SHARED_INFO size", pv_stream(middle=PV_V3[:6] + [rec(0x07, bytes(8))]), "must be 4096"),
    ("empty HVM_CONTEXT", hvm_stream(middle=[SDE, page_data([0]), rec(0x09)]), "empty"),
    ("HVM_PARAMS size", hvm_stream(middle=[SDE, rec(0x0A, struct.pack("<II", 2, 0) +
                                                    bytes(16)), hvm_context()]), "must be"),
    ("dirty pfn list", pv_stream(middle=PV_V3 + [rec(0x0F, bytes(8))]), "COLO"),
    ("P2M frame count", pv_stream(middle=PV_V3[:2] + [p2m(end=600, frames=(0,))] +
                                  PV_V3[3:]), "requires 2"),
    ("version 4", ihdr(4) + pv_stream()[24:], "version"),
    ("big endian", ihdr(3, options=1) + pv_stream()[24:], "big-endian"),
    ("domain type 4", ihdr(3) + dhdr(4) + pv_stream()[40:], "domain type"),
    ("page shift", ihdr(3) + dhdr(1, page_shift=16) + pv_stream()[40:], "page_shift"),
    ("CPUID policy size", pv_stream(middle=PV_V3[:1] + [rec(0x11, bytes(20))] + PV_V3[1:]),
     "multiple of 24"),
]


@pytest.mark.parametrize("name,data,message", FATAL, ids=[c[0] for c in FATAL])
def test_unreadable_records_raise_a_located_format_error(tmp_path, name, data, message):
    path = tmp_path / "s"
    path.write_bytes(data)
    with pytest.raises(FormatError) as err:
        read(path)
    assert message in err.value.message and err.value.offset is not None
    assert str(path) in str(err.value)


def test_a_missing_end_is_a_truncation(tmp_path):
    path = tmp_path / "s"
    path.write_bytes(pv_stream()[:-8])
    with pytest.raises(TruncatedError):
        read(path)


def test_errata_zero_content_records_are_accepted_with_a_warning(tmp_path):
    data = pv_stream(middle=PV_V3 + [vcpu(0x05, size=0), vcpu(0x06, size=0)])
    found = findings_of(tmp_path / "s", data)
    assert errors(found) == []
    assert len([f for f in found if f.level == "warning" and "errata" in f.message]) == 2
    hvm = hvm_stream(middle=[SDE, page_data([0]), tsc(), hvm_params(pairs=()), hvm_context()])
    found = findings_of(tmp_path / "h", hvm)
    assert errors(found) == [] and any("errata" in f.message for f in found)


def test_unknown_optional_records_are_kept_and_warned_about(tmp_path):
    path = tmp_path / "s"
    path.write_bytes(pv_stream(middle=PV_V3 + [rec(0x80000042, b"hello")]))
    records, found = read(path)
    assert Opaque("v2", "record-0x80000042", b"hello") in records
    assert any("optional" in f.message and f.level == "warning" for f in found)


def test_the_c_restorer_order_of_hvm_params_after_context_is_valid(tmp_path):
    data = hvm_stream(middle=[SDE, page_data([0, 1]), tsc(), hvm_context(), hvm_params()])
    assert errors(findings_of(tmp_path / "s", data)) == []


def test_libxl_layer_rules(tmp_path):
    libxl = b"LibxlFmt" + struct.pack(">II", 2, 0) + rec(1)
    emulator = rec(3, struct.pack("<II", 0, 0) + b"qemu")
    found = findings_of(tmp_path / "a", libxl + pv_stream() + emulator + rec(0))
    assert any("PV stream" in f.message for f in errors(found))
    found = findings_of(tmp_path / "b", libxl + hvm_stream() +
                        rec(2, struct.pack("<II", 7, 0) + b"k\0v") + rec(0))
    messages = " ".join(f.message for f in errors(found))
    assert "emulator id 7" in messages and "NUL-terminated" in messages
    path = tmp_path / "c"
    path.write_bytes(libxl + hvm_stream() + rec(9) + rec(0))
    with pytest.raises(FormatError, match="unknown libxl record"):
        read(path)


def test_an_xl_file_without_streamv2_belongs_to_the_legacy_format():
    from xcformat.v2 import sniff
    head = b"Xen saved domain, xl format\n \0 \r" + struct.pack("<IIII", 0x01020304, 1, 0, 0)
    assert sniff(head + bytes(64)) is None
    v2 = b"Xen saved domain, xl format\n \0 \r" + struct.pack("<IIII", 0x01020304, 3, 0, 0)
    assert sniff(v2 + b"LibxlFmt" + struct.pack(">II", 2, 0) + rec(1) + hvm_stream()).facts[
        "wrapper"] == "xl"


def test_the_sniffer_names_layers_version_and_guest():
    from xcformat.v2 import sniff
    verdict = sniff(hvm_stream(version=2))
    assert verdict.certain and verdict.facts == {"wrapper": None, "layers": ["libxc"],
                                                 "version": 2, "guest": "hvm"}
    libxl = b"LibxlFmt" + struct.pack(">II", 2, 0) + rec(1)
    assert sniff(libxl + pv_stream()).facts["layers"] == ["libxl", "libxc"]
    assert sniff(libxl[:8]).undecided == ("guest",)
    assert sniff(b"\0" * 64) is None and sniff(b"\xff" * 8 + b"XENG" + bytes(40)) is None


LIBXL = b"LibxlFmt" + struct.pack(">II", 2, 0) + rec(1)


def xl(flags=3, optional=b"", byteorder=0x01020304, optional_flags=0):
    return b"Xen saved domain, xl format\n \0 \r" + struct.pack(
        "<IIII", byteorder, flags, optional_flags, len(optional)) + optional


WRAPPER_FINDINGS = [
    ("pages after vCPU state", pv_stream(middle=PV_V3 + [page_data([1])]), "warning",
     "after the vCPU"),
    ("libxl END inside a checkpoint", LIBXL + hvm_stream()[:-8] + rec(0x0E) + rec(0), "error",
     "before the libxc stream ended"),
    ("libxl reserved option bits", b"LibxlFmt" + struct.pack(">II", 2, 4) + rec(1) +
     hvm_stream() + rec(0), "error", "reserved libxl option"),
    ("emulator record before the libxc stream", b"LibxlFmt" + struct.pack(">II", 2, 0) +
     rec(3, bytes(12)) + rec(1) + hvm_stream() + rec(0), "error", "before the libxc"),
    ("xl optional flags", xl(optional_flags=1) + LIBXL + hvm_stream() + rec(0), "warning",
     "optional flags"),
]


@pytest.mark.parametrize("name,data,level,message", WRAPPER_FINDINGS,
                         ids=[c[0] for c in WRAPPER_FINDINGS])
def test_layer_rules_give_findings(tmp_path, name, data, level, message):
    found = findings_of(tmp_path / "s", data)
    assert any(f.level == level and message in f.message and f.offset is not None
               for f in found), found


WRAPPER_FATAL = [
    ("second LIBXC_CONTEXT", LIBXL + hvm_stream() + rec(1) + rec(0), "second LIBXC_CONTEXT"),
    ("CHECKPOINT_END without CHECKPOINT", LIBXL + hvm_stream() + rec(4) + rec(0),
     "without a libxc CHECKPOINT"),
    ("CHECKPOINT_STATE", LIBXL + hvm_stream() + rec(5, bytes(4)) + rec(0), "COLO"),
    ("libxl version", b"LibxlFmt" + struct.pack(">II", 3, 0) + rec(1) + hvm_stream(),
     "version 3"),
    ("libxl big endian", b"LibxlFmt" + struct.pack(">II", 2, 1) + rec(1) + hvm_stream(),
     "big-endian"),
    ("LIBXC_CONTEXT with a body", b"LibxlFmt" + struct.pack(">II", 2, 0) + rec(1, bytes(8)),
     "must be 0"),
    ("xl unknown mandatory flag", xl(flags=7) + LIBXL + hvm_stream() + rec(0),
     "unknown mandatory"),
    ("xl byte order", xl(byteorder=0x04030201) + LIBXL + hvm_stream() + rec(0), "byte-order"),
    ("xl config overruns", xl(optional=struct.pack("<I", 99) + b"abc") + LIBXL, "config of 99"),
    ("xl STREAMv2 without libxl", xl() + hvm_stream(), "no libxl stream"),
]


@pytest.mark.parametrize("name,data,message", WRAPPER_FATAL, ids=[c[0] for c in WRAPPER_FATAL])
def test_layer_errors_are_located(tmp_path, name, data, message):
    path = tmp_path / "s"
    path.write_bytes(data)
    with pytest.raises(FormatError) as err:
        read(path)
    assert message in err.value.message and err.value.offset is not None


def test_a_contradicting_guest_hint_is_ignored_with_a_warning(tmp_path):
    from xcformat.formats import Hints
    from xcformat.io import open_source
    from xcformat.records import GuestType, ImageHeader
    from xcformat.v2 import FORMAT
    path = tmp_path / "s"
    path.write_bytes(pv_stream())
    with open_source(str(path)) as source:
        reader = FORMAT.reader(source, Hints(guest=GuestType.HVM))
        header = next(iter(reader.records()))
    assert isinstance(header, ImageHeader) and header.guest is GuestType.PV
    assert any("--guest hvm ignored" in f.message for f in reader.findings)
