"""Development cross-check: the Xen project's convert-legacy-stream on images our writer wrote.

Runs Xen's tools as tests/xen_tools.py finds them (skipped without).  Each synthetic
variant is rewritten by xcformat (byte-identical, checked elsewhere), then handed to the
converter and the result to verify-stream-v2.  Expected outcomes are the converter's documented
limits (docs/reference/recognising.rst): it refuses PV streams without ext-info and tmem, misparses
the 2007 HVM tail, and only knows the libxl qemu record (others need --skip-qemu).  xl/xend
wrappers are stripped first: the converter reads bare streams (libxl strips the xl header before
it runs the converter) and has no xend reader.
"""

import pytest

from helpers import final_pages, hints_for, read_all, rewrite
from test_legacy_synth import SPECS
from xcformat import formats
from xcformat.formats import Hints, WriteOptions
from xcformat.io import open_sink, open_source
from xcformat.legacy.options import LegacyOptions
from xcformat.records import GuestType, HvmContext, VcpuContext
from xcformat.synth import GuestSpec, expected, legacy_bytes

from tests.xen_tools import needs_xen_tools, run_xen as run

pytestmark = needs_xen_tools

#: variant -> the step that fails ("convert", "verify" or None)
FAILS = {
    "4.5-pv-32-32-tmem": "convert",             # tmem is a "todo" (rc 2)
    "3.1-pv-64": "convert",                     # "Unexpected extended info marker"
    "3.0-pv-64": "convert",
    "3.0-pv-32-xend": "convert",
    "2007-hvm": "verify",                       # misparsed tail: "Zero length HVM context"
    "2007-hvm-32-xend": "verify",
}


@pytest.mark.parametrize("name", SPECS)
def test_xen_converter_on_our_output(tmp_path, name):
    spec = SPECS[name]
    (tmp_path / "in").write_bytes(legacy_bytes(spec))
    rewrite(tmp_path / "in", tmp_path / "ours", hints_for(spec))
    bare = tmp_path / "bare"
    bare.write_bytes((tmp_path / "ours").read_bytes()[expected(spec).stream_offset:])
    layer = ["-f", "libxl"] if spec.wrapper == "xl" else []
    qemu = ["--skip-qemu"] if spec.guest == "hvm" and spec.qemu != "DeviceModelRecord0002" \
        else []
    done = run("convert-legacy-stream", "-i", str(bare), "-o", str(tmp_path / "v2"),
               "-w", str(spec.toolstack_bits), "-g", spec.guest, *layer, *qemu)
    fails = FAILS.get(name)
    if fails == "convert":
        assert done.returncode != 0
        return
    assert done.returncode == 0, done.stderr
    verified = run("verify-stream-v2", "-i", str(tmp_path / "v2"), *layer)
    assert (verified.returncode != 0) == (fails == "verify"), verified.stderr


DOWN = {
    "pv-64-64": (GuestSpec(pages=32, vcpus=2), []),
    "pv-64-32": (GuestSpec(pages=32, guest_bits=32), []),
    "pv-32-32": (GuestSpec(pages=32, toolstack_bits=32), []),
    "hvm-64-libxl": (GuestSpec(guest="hvm", pages=32, vcpus=2), ["-f", "libxl"]),
}


@pytest.mark.parametrize("name", DOWN)
def test_v2_written_by_xen_comes_down_to_legacy_that_xen_accepts_again(tmp_path, name):
    """legacy (synth) -> v2 (Xen's converter) -> legacy (xcformat) -> v2 (Xen's converter)."""
    spec, layer = DOWN[name]
    (tmp_path / "orig").write_bytes(legacy_bytes(spec))
    args = ["-w", str(spec.toolstack_bits), "-g", spec.guest, *layer]
    assert run("convert-legacy-stream", "-i", str(tmp_path / "orig"), "-o",
               str(tmp_path / "xen.v2"), *args).returncode == 0
    with open_source(str(tmp_path / "xen.v2")) as source:
        with open_sink(str(tmp_path / "back")) as sink:
            formats.get("legacy").writer(sink, WriteOptions(
                format_options=LegacyOptions(toolstack_bits=spec.toolstack_bits))).write(
                formats.get("v2").reader(source, Hints()).records())
    back, _, findings = read_all(tmp_path / "back", Hints(guest=GuestType(spec.guest)))
    assert not [f for f in findings if f.level == "error"]
    original, _, _ = read_all(tmp_path / "orig")
    assert final_pages(back) == final_pages(original)
    for kind in (VcpuContext, HvmContext):
        assert [r for r in back if isinstance(r, kind)] == \
            [r for r in original if isinstance(r, kind)], kind.__name__
    again = run("convert-legacy-stream", "-i", str(tmp_path / "back"), "-o",
                str(tmp_path / "again.v2"), *args)
    assert again.returncode == 0, again.stderr
    verified = run("verify-stream-v2", "-i", str(tmp_path / "again.v2"), *layer)
    assert verified.returncode == 0, verified.stderr
