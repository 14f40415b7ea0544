"""Inputs that pass their own ``validate`` but hold what the target cannot: each conversion is
made right or refused by the writer, with a reason, and never leaves a file (the cases a
hostile-input audit found, each once a file ``validate`` rejected)."""

from __future__ import annotations

import dataclasses
import struct

import pytest

from xcformat import formats
from xcformat.formats import WriteOptions
from xcformat.io import open_sink
from xcformat.records import HvmContext, HvmParams, ImageHeader, P2MFrames, TscInfo
from xcformat.synth import GuestSpec, write_legacy
from xcformat.testing import read_records

from .cli_runner import xcformat

PV = GuestSpec(pages=24, vcpus=2)
HVM = GuestSpec(guest="hvm", pages=24)


def records_of(tmp_path, spec):
    write_legacy(spec, tmp_path / "guest.legacy")
    return read_records(tmp_path / "guest.legacy", formats.get("legacy"))[0]


def write(path, fmt: str, records, **options):
    with open_sink(str(path)) as sink:
        formats.get(fmt).writer(sink, WriteOptions(say=lambda m: None, **options)).write(records)
    assert xcformat("validate", path).code == 0, "the input must be one validate accepts"
    return path


def refused(source, target: str, why: str, *options):
    out = source.with_name("out")
    done = xcformat("convert", source, out, "--to", target, "--no-progress", *options)
    assert done.code == 1, done.output
    assert done.stderr.startswith(f"xcformat: {source}: ") and why in done.stderr, done.stderr
    assert not out.exists()


@pytest.mark.parametrize("target", ["v2", "legacy"])
def test_a_pv_core_dump_is_no_save_stream(tmp_path, target):
    """A dump lacks the p2m frame list a PV restore rewrites (v2 once wrote a stream without
    X86_PV_P2M_FRAMES, legacy one whose frame list was its first page's bytes)."""
    dump = tmp_path / "guest.core"
    write_legacy(PV, tmp_path / "guest.legacy")
    assert xcformat("convert", tmp_path / "guest.legacy", dump, "--to", "core",
                    "--no-progress").code == 0
    refused(dump, target, "needs its p2m frame list")


def test_a_repeated_tsc_chunk_goes_to_v2_as_the_last_one(tmp_path):
    """Legacy restorers apply each -7 chunk in turn; v2 takes one X86_TSC_INFO per snapshot."""
    records = records_of(tmp_path, PV)
    at = next(i for i, r in enumerate(records) if isinstance(r, TscInfo))
    later = dataclasses.replace(records[at], khz=records[at].khz + 1)
    source = write(tmp_path / "twice.legacy", "legacy",
                   records[:at + 1] + [later] + records[at + 1:])
    out = tmp_path / "out.v2"
    done = xcformat("convert", source, out, "--to", "v2", "--no-progress",
                    "--drop", "unmapped-pfns,toolstack")
    assert done.code == 0, done.stderr
    assert xcformat("validate", out).code == 0
    got = read_records(out, formats.get("v2"))[0]
    assert [r for r in got if isinstance(r, TscInfo)] == [later]


def aligned_hvm(tmp_path, change):
    records = [change(r) for r in records_of(tmp_path, HVM)]
    return write(tmp_path / "in.aligned", "aligned", records)


def test_an_ioreq_pfn_beyond_the_p2m_is_refused_by_the_legacy_writer(tmp_path):
    def far(record):
        if isinstance(record, HvmParams) and any(k == 5 for k, _ in record.params):
            return HvmParams(tuple((k, 0x1_0000 if k == 5 else v) for k, v in record.params))
        return record
    refused(aligned_hvm(tmp_path, far), "legacy", "ioreq_pfn 0x10000 >= p2m_size")


def test_an_hvm_context_legacy_restorers_refuse_is_refused(tmp_path):
    def bad(record):
        return HvmContext(b"\xff" * 64) if isinstance(record, HvmContext) else record
    refused(aligned_hvm(tmp_path, bad), "legacy", "legacy restorers refuse this HVM context")


def test_a_p2m_frame_beyond_the_p2m_is_refused(tmp_path):
    def far(record):
        if isinstance(record, P2MFrames):
            return P2MFrames((0x7777,) + record.frames[1:])
        return record
    records = [far(r) for r in records_of(tmp_path, PV)]
    source = write(tmp_path / "in.aligned", "aligned", records)
    refused(source, "legacy", "p2m frame-list entry 0 is pfn 0x7777 >= p2m_size")


def test_an_hvm_parameter_naming_pfn_2_to_the_32_is_refused_by_the_legacy_writer(tmp_path):
    """v2 HVM states no p2m_size: 1 + the highest pfn named, here by a parameter, is 2^32,
    beyond the 28 bits of a legacy pfn."""
    def huge(record):
        if isinstance(record, HvmParams):
            return HvmParams(record.params + ((17, 0xFFFFFFFF),))   # CONSOLE_PFN
        return record
    records = [huge(r) for r in records_of(tmp_path, HVM)]
    source = write(tmp_path / "in.v2", "v2", records, wrap="libxl")
    refused(source, "legacy", "p2m_size 0x100000000 (1 + the highest pfn the image names)")
    assert struct.pack("<Q", 0xFFFFFFFF) in source.read_bytes()


def test_a_xen_version_the_v2_domain_header_cannot_hold_becomes_the_converters(tmp_path):
    """A dump's version note holds u64s; v2's domain header u32s (once a construct traceback)."""
    records = [dataclasses.replace(r, xen_version=(1 << 32, 17)) if isinstance(r, ImageHeader)
               else r for r in records_of(tmp_path, PV)]
    out = tmp_path / "out.v2"
    with open_sink(str(out)) as sink:
        formats.get("v2").writer(sink, WriteOptions(
            say=lambda m: None, drop=frozenset({"unmapped-pfns", "toolstack"}))).write(records)
    assert xcformat("validate", out).code == 0
    header = read_records(out, formats.get("v2"))[0][0]
    assert header.xen_version == (0, 1)
