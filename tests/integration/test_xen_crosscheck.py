"""Development cross-check of the conversion matrix with the Xen project's own tools.

Runs Xen's tools as tests/xen_tools.py finds them (skipped without).  For the PV variants of the
matrix: verify-stream-v2 accepts our legacy → v2 (plain and ``--align``); convert-legacy-stream
accepts our v2 → legacy (down-conversion, ``--align`` repeats included) and its v2 output holds
the original's final pages (Remus too: our v2 writer flattens the checkpoints into one pass,
which is all the converter handles).  Wrappers are left out: the bare libxc layer is what these
variants exercise.
"""

from __future__ import annotations

import dataclasses

import pytest

from xcformat import synth

from .cli_runner import xcformat
from .images import guest_state
from .test_conversion_matrix import VARIANTS

from tests.xen_tools import needs_xen_tools, run_xen as xen

pytestmark = needs_xen_tools
#: PV variants a bare v2 stream carries whole (HVM needs libxl; see the matrix).
PV_WHOLE = sorted(name for name, (spec, _, cannot) in VARIANTS.items()
                  if spec.guest == "pv" and not cannot)


@pytest.mark.parametrize("align", [False, True], ids=["plain", "align"])
@pytest.mark.parametrize("name", PV_WHOLE)
def test_xen_tools_accept_our_v2_and_our_down_conversion(tmp_path, name, align):
    spec, hint, _ = VARIANTS[name]
    spec = dataclasses.replace(spec, wrapper=None)
    src, v2, back, xen_v2 = (tmp_path / f for f in ("in.legacy", "out.v2", "back.legacy",
                                                     "xen.v2"))
    synth.write_legacy(spec, src)
    assert xcformat("convert", src, v2, "--to", "v2", *hint,
                    *(["--align"] if align else [])).code == 0
    verified = xen("verify-stream-v2", "-i", v2)
    assert verified.returncode == 0, verified.stderr
    width = str(spec.toolstack_bits)
    assert xcformat("convert", v2, back, "--to", "legacy", "--width", width).code == 0
    converted = xen("convert-legacy-stream", "-i", back, "-o", xen_v2, "-w", width, "-g", "pv")
    assert converted.returncode == 0, converted.stderr
    assert guest_state(xen_v2)[0] == guest_state(src, spec.guest)[0]


@pytest.mark.parametrize("name", PV_WHOLE)
def test_for_xen_4_6_output_is_a_version_2_stream_xen_verifies(tmp_path, name):
    spec, hint, _ = VARIANTS[name]
    src, out = tmp_path / "in.legacy", tmp_path / "for-4.6.v2"
    synth.write_legacy(dataclasses.replace(spec, wrapper=None), src)
    assert xcformat("convert", src, out, "--for", "xen-4.6+", *hint).code == 0
    data = out.read_bytes()
    assert data.startswith(b"Xen saved domain, xl format\n \0 \r")   # what xl restore reads
    libxc = data.index(b"\xff" * 8 + b"XENF")
    assert data[libxc + 12:libxc + 16] == b"\x00\x00\x00\x02"   # image header version (BE)
    verified = xen("verify-stream-v2", "-i", out, "-f", "xl")
    assert verified.returncode == 0, verified.stderr
