"""PV guests with xsave state go v2 -> legacy: the "xcnt" size comes from a pre-scan of the file.

Legacy states the xsave record size in the ext-info block before the p2m frame list (the "xcnt"
block); v2 delivers X86_PV_VCPU_XSAVE in the tail.  On a file the v2 reader finds vCPU 0's
size first; on a pipe the legacy writer refuses the xsave records unless --drop xsave.
"""

import os
import threading

import pytest

from v2_helpers import pages_by_pfn, read

from xcformat.errors import UnsupportedError
from xcformat.formats import Hints, WriteOptions, get
from xcformat.io import open_sink, open_source
from xcformat.io.source import Source
from xcformat.legacy.options import LegacyOptions
from xcformat.records import PvExtInfo, VcpuContext, VcpuExtended, VcpuXsave

synth = pytest.importorskip("xcformat.synth")
pytest.importorskip("xcformat.legacy")

from test_v2_from_legacy import convert  # noqa: E402  (after the skips)


def _spec(guest_bits, per_vcpu=False):
    return synth.GuestSpec(guest="pv", variant="4.5", toolstack_bits=64, guest_bits=guest_bits,
                           vcpus=2, xsave=True, xsave_per_vcpu=per_vcpu, pages=24)


def to_legacy(source, out, drop=frozenset()):
    said = []
    with open_sink(str(out)) as sink:
        get("legacy").writer(sink, WriteOptions(
            format_options=LegacyOptions(toolstack_bits=64), drop=drop,
            say=said.append)).write(
            get("v2").reader(source, Hints()).records())
    return said


def legacy_records(path):
    with open_source(str(path)) as src:
        reader = get("legacy").reader(src, Hints())
        records = [r for r in reader.records() if not hasattr(r, "pfns")]
        return records, reader.findings


def vcpu_state(records):
    return sorted((type(r).__name__, r.vcpu_id, bytes(r.data if hasattr(r, "data") else
                                                      r.context))
                  for r in records if isinstance(r, (VcpuContext, VcpuExtended, VcpuXsave)))


@pytest.mark.parametrize("guest_bits", [64, 32])
@pytest.mark.parametrize("per_vcpu", [False, True], ids=["same-size", "per-vcpu-size"])
def test_pv_xsave_goes_to_legacy_and_back_with_pages_and_contexts(tmp_path, guest_bits, per_vcpu):
    spec = _spec(guest_bits, per_vcpu)
    convert(spec, tmp_path / "first.v2")
    first, _ = read(tmp_path / "first.v2")
    assert [r for r in first if isinstance(r, VcpuXsave)], "the source must carry xsave"
    with open_source(str(tmp_path / "first.v2")) as src:
        to_legacy(src, tmp_path / "back.legacy")

    records, findings = legacy_records(tmp_path / "back.legacy")
    ext_info = dict(next(r for r in records if isinstance(r, PvExtInfo)).blocks)
    xsave0 = next(r for r in first if isinstance(r, VcpuXsave) and r.vcpu_id == 0)
    assert int.from_bytes(ext_info[b"xcnt"], "little") == 16 + len(xsave0.data)
    assert [f for f in findings if f.level == "error"] == []
    size_warnings = [f for f in findings if "xsave size" in f.message]
    assert bool(size_warnings) == per_vcpu               # per-vCPU sizes are kept, and flagged
    assert all(r.mask for r in records if isinstance(r, VcpuXsave))   # never 0 under xcnt

    with open_source(str(tmp_path / "back.legacy")) as src, \
            open_sink(str(tmp_path / "again.v2")) as sink:
        get("v2").writer(sink, WriteOptions(say=lambda m: None)).write(
            get("legacy").reader(src, Hints()).records())
    again, again_findings = read(tmp_path / "again.v2")
    assert [f for f in again_findings if f.level == "error"] == []
    assert pages_by_pfn(again) == pages_by_pfn(first)
    assert vcpu_state(again) == vcpu_state(first)


def _pipe_source(data: bytes) -> Source:
    read_end, write_end = os.pipe()

    def feed():
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(data)
    threading.Thread(target=feed, daemon=True).start()
    return Source(read_end, "<pipe>")


def test_pv_xsave_on_a_pipe_is_refused_with_advice_or_dropped(tmp_path):
    convert(_spec(64), tmp_path / "in.v2")
    data = (tmp_path / "in.v2").read_bytes()
    source = _pipe_source(data)
    try:
        with pytest.raises(UnsupportedError, match=r"read it from a file.*--drop xsave"):
            to_legacy(source, tmp_path / "refused.legacy")
    finally:
        source.close()
    assert not (tmp_path / "refused.legacy").exists()

    source = _pipe_source(data)
    try:
        said = to_legacy(source, tmp_path / "dropped.legacy", drop=frozenset({"xsave"}))
    finally:
        source.close()
    assert any("xsave" in line.lower() for line in said)
    records, findings = legacy_records(tmp_path / "dropped.legacy")
    assert [f for f in findings if f.level == "error"] == []
    assert not [r for r in records if isinstance(r, VcpuXsave)]
