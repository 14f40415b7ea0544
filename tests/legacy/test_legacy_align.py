"""``convert --to legacy --align``: XTAB-filler batches.

Alignment is checked with a struct walk of the output bytes written here from the layouts
(spec/legacy.md), not with the reader under test; content with the reader against the input.
"""

from __future__ import annotations

import dataclasses
import io
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import final_pages, hints_for, read_all, rewrite
from tests.xen_tools import needs_xen_tools, run_xen as run
from xcformat import formats
from xcformat.errors import FormatError, UnsupportedError, XcFormatError
from xcformat.formats import Hints, WriteOptions
from xcformat.legacy import align
from xcformat.records import DATA_TYPES, HvmContext, PageBatch, VcpuContext
from xcformat.synth import GuestSpec, legacy_bytes
from xcformat.testing import mutations, spec_images, truncations
from xcformat.testing.v2 import v2_bytes

PAGE = 4096
FILLER = 0xF0000000
#: Fixed-size chunk payloads after the id: -7 TSC, -9 and -1 none, value chunks 12.
FIXED_PAYLOAD = {-1: 0, -7: 20, -9: 0,
                 **{c: 12 for c in (-3, -4, -8, -10, -11, -14, -15, -16, -17, -19, -20)}}


def stream_start(data: bytes) -> int:
    """Where the libxc stream starts: after an xl or xend wrapper."""
    if data.startswith(b"Xen saved domain, xl format"):
        return 48 + struct.unpack_from("<I", data, 44)[0]
    if data.startswith(b"LinuxGuestRecord"):
        return 20 + struct.unpack_from(">i", data, 16)[0]
    return 0


def walk(data: bytes, word: int, pv: bool):
    """(file offsets of each batch's first page, [(-9 chunks right before, entries)]) of the
    first checkpoint's body."""
    pos = stream_start(data)
    fmt = "<Q" if word == 8 else "<I"
    p2m_size = struct.unpack_from(fmt, data, pos)[0]
    pos += word
    if pv:                                     # ext-info, then the frame list
        assert data[pos:pos + word] == b"\xff" * word
        total, block, vcpu_size = struct.unpack_from("<I4sI", data, pos + word)
        assert block == b"vcpu"
        guest_word = 8 if vcpu_size == 5168 else 4
        pos += word + 4 + total
        pos += word * -(-p2m_size // (PAGE // guest_word))
    pages_at, batches, pads = [], [], 0
    while True:
        item = struct.unpack_from("<i", data, pos)[0]
        pos += 4
        if item == 0:
            return pages_at, batches
        if item > 0:
            entries = struct.unpack_from(f"<{item}{fmt[1]}", data, pos)
            pos += word * item
            pages = sum(1 for e in entries if e >> 28 in DATA_TYPES)
            if pages:
                pages_at.append(pos)
            batches.append((pads, entries))
            pos += PAGE * pages
            pads = 0
        elif item == -2:
            pos += 4 + 8 * (struct.unpack_from("<i", data, pos)[0] // 64 + 1)
        elif item == -18:
            pos += 4 + struct.unpack_from("<I", data, pos)[0]
        else:
            pos += FIXED_PAYLOAD[item]
            pads += item == -9


def aligned(tmp_path, spec: GuestSpec, source: bytes | None = None, hints: Hints | None = None):
    """The --align rewrite of ``spec``'s image (or of ``source``): (path, bytes, notes)."""
    (tmp_path / "in").write_bytes(legacy_bytes(spec) if source is None else source)
    notes = []
    rewrite(tmp_path / "in", tmp_path / "out", hints or hints_for(spec),
            WriteOptions(align=True, say=notes.append))
    return tmp_path / "out", (tmp_path / "out").read_bytes(), notes


def check_layout(data: bytes, spec: GuestSpec) -> list:
    word = spec.toolstack_bits // 8
    pages_at, batches = walk(data, word, spec.guest == "pv")
    assert pages_at and all(at % PAGE == 0 for at in pages_at), [at % PAGE for at in pages_at]
    for pads, entries in batches:
        assert 1 <= len(entries) <= 1024
        assert any(e >> 28 != 0xF for e in entries), "an all-XTAB batch"
        assert pads <= (1 if word == 8 else 0)
    # Fillers sit at the end of a batch and are exactly 0xF0000000.
    assert sum(e == FILLER for _, entries in batches for e in entries) > 0
    return batches


def same_content(original, out, spec: GuestSpec, hints: Hints | None = None) -> None:
    want, _, _ = read_all(original, hints or hints_for(spec))
    got, _, findings = read_all(out, hints or hints_for(spec))
    assert not [f for f in findings if f.level == "error"]
    assert final_pages(got) == final_pages(want)
    for kind in (VcpuContext, HvmContext):
        assert [r for r in got if isinstance(r, kind)] == [r for r in want if isinstance(r, kind)]


SPECS = {
    "pv-64-64": GuestSpec(pages=1500, vcpus=2),
    "pv-32-32": GuestSpec(pages=1500, toolstack_bits=32),
    "pv-64-32": GuestSpec(pages=1500, guest_bits=32),
    "hvm-64": GuestSpec(guest="hvm", pages=1500),
    "hvm-32": GuestSpec(guest="hvm", pages=1500, toolstack_bits=32),
    "pv-64-xl": GuestSpec(pages=300, wrapper="xl", xsave=True, special_pages=True),
    "hvm-64-xl": GuestSpec(guest="hvm", pages=300, wrapper="xl", special_pages=True),
    "pv-64-live-small-batches": GuestSpec(pages=700, live=True, batch=100),
    "hvm-32-3.2-xend": GuestSpec(guest="hvm", pages=300, variant="3.2", toolstack_bits=32,
                                 wrapper="xend"),
}


@pytest.mark.parametrize("name", SPECS)
def test_every_page_starts_on_a_page_boundary_and_the_guest_is_the_same(tmp_path, name):
    spec = SPECS[name]
    out, data, _ = aligned(tmp_path, spec)
    batches = check_layout(data, spec)
    if spec.toolstack_bits == 64:               # every batch but maybe the first gets a -9
        assert all(pads == 1 for pads, _ in batches[1:])
    same_content(tmp_path / "in", out, spec)


def test_steady_state_batches_hold_1023_entries(tmp_path):
    for bits in (32, 64):
        spec = GuestSpec(pages=4000, toolstack_bits=bits)
        batches = check_layout(aligned(tmp_path, spec)[1], spec)
        assert [len(e) for _, e in batches[1:-1]] == [1023] * (len(batches) - 2)


def test_the_reader_takes_repeated_minus_9_as_valid_and_says_so(tmp_path):
    spec = SPECS["pv-64-64"]
    out, data, _ = aligned(tmp_path, spec)
    _, _, findings = read_all(out, hints_for(spec))
    notes = [f for f in findings if f.field == "body.last_checkpoint"]
    assert [f.level for f in notes] == ["info"]
    pads = sum(pads for pads, _ in walk(data, 8, True)[1])
    assert notes[0].message.startswith(f"{pads + 1} -9 ")       # + the stream's own -9


def test_plain_legacy_from_an_aligned_file_keeps_the_pages_not_the_original_bytes(tmp_path):
    """Without --align the writer rewrites legacy input as it comes: fillers and pad chunks
    stay (the result is the aligned file itself), the original batch layout is not restored."""
    spec = SPECS["pv-64-xl"]
    out, data, _ = aligned(tmp_path, spec)
    rewrite(out, tmp_path / "plain", hints_for(spec))
    plain = (tmp_path / "plain").read_bytes()
    assert plain == data and plain != legacy_bytes(spec)
    same_content(tmp_path / "in", tmp_path / "plain", spec)


def test_v2_input_is_aligned_too(tmp_path):
    spec = GuestSpec(pages=1200, vcpus=2)
    (tmp_path / "in.v2").write_bytes(v2_bytes(spec))
    from xcformat.io import open_sink, open_source
    with open_source(str(tmp_path / "in.v2")) as source:
        with open_sink(str(tmp_path / "out")) as sink:
            formats.get("legacy").writer(sink, WriteOptions(align=True, say=[].append)).write(
                formats.get("v2").reader(source, Hints()).records())
    check_layout((tmp_path / "out").read_bytes(), spec)
    (tmp_path / "orig").write_bytes(legacy_bytes(spec))
    same_content(tmp_path / "orig", tmp_path / "out", spec)


def test_a_pfn_sent_twice_never_lands_twice_in_one_batch(tmp_path):
    spec = SPECS["pv-64-live-small-batches"]
    batches = check_layout(aligned(tmp_path, spec)[1], spec)
    for _, entries in batches:
        real = [e & 0x0FFFFFFF for e in entries if e >> 28 != 0xF]
        assert len(real) == len(set(real))


def test_w64_says_the_file_needs_xen_4_1(tmp_path):
    _, _, notes = aligned(tmp_path, SPECS["pv-64-64"])
    assert any("4.0 and older restorers refuse" in n for n in notes)
    _, _, notes = aligned(tmp_path, SPECS["pv-32-32"])
    assert not any("restorers refuse" in n for n in notes)


@pytest.mark.parametrize("spec, match", [
    (GuestSpec(guest="hvm", variant="2007-hvm", pages=40), "2007 HVM"),
    (GuestSpec(variant="remus", pages=40), "checkpointed"),
])
def test_what_fillers_cannot_carry_is_refused_and_leaves_no_file(tmp_path, spec, match):
    with pytest.raises(UnsupportedError, match=match):
        aligned(tmp_path, spec)
    assert not (tmp_path / "out").exists()


def test_for_a_xen_target_falls_back_to_plain_legacy_when_fillers_are_refused(tmp_path):
    """A Remus W=64 stream shows it is checkpointed only after its first tail: --for retries."""
    (tmp_path / "in").write_bytes(legacy_bytes(GuestSpec(variant="remus", pages=40)))
    done = subprocess.run([sys.executable, "-m", "xcformat", "convert", str(tmp_path / "in"),
                           str(tmp_path / "out"), "--for", "xen-4.4",
                           "--no-progress"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert [line for line in lines if "legacy-align" in line] == [
        "xcformat: --for xen-4.4: not legacy-align: " + next(
            line.split("legacy-align: ", 1)[1] for line in lines if "checkpointed" in line)]
    assert "xcformat: --for xen-4.4: writing legacy" in lines
    assert (tmp_path / "out").read_bytes() == (tmp_path / "in").read_bytes()


def test_a_checkpointed_stream_aligns_with_a_32_bit_toolstack(tmp_path):
    spec = GuestSpec(variant="remus", pages=600, toolstack_bits=32, checkpoints=2)
    out, data, _ = aligned(tmp_path, spec)
    check_layout(data, spec)
    same_content(tmp_path / "in", out, spec)


@pytest.mark.parametrize("word", [4, 8])
def test_every_start_offset_gets_a_plan_that_reaches_a_page_boundary(word):
    for offset in range(0, 2 * PAGE, 4):
        plan = align.plan(offset, word)
        for used in (1, plan.entries):            # the last batch before a chunk shrinks
            cut = plan.shrunk_to(used, word)
            assert used <= cut.entries <= plan.entries <= 1024
            assert (offset + 4 * cut.pad_chunks + 4 + word * cut.entries) % PAGE == 0
        assert plan.pad_chunks <= (word == 8)
    assert align.plan(PAGE, word) == align.Plan(word == 8, 1023)


def test_an_all_xtab_run_never_becomes_a_batch_of_its_own():
    written = []

    class Writer:                                 # what the aligner asks of the legacy writer
        next_offset = 4                           # just after a 32-bit p2m_size word
        entry_bytes = 4

        def write_pad_chunks(self, count):
            written.append(count)

    aligner = align.BatchAligner(Writer(), say=written.append)
    xtab = PageBatch((0, 0, 7), bytes([0xF] * 3), memoryview(b""))
    assert list(aligner.take(xtab)) == [] and list(aligner.flush()) == []
    page = PageBatch((5,), b"\x00", memoryview(bytes(PAGE)))
    [batch] = [*aligner.take(xtab), *aligner.take(page), *aligner.flush()]
    assert batch.pfns[:4] == (0, 0, 7, 5) and len(batch.pfns) == 1022   # 4 + 4 * 1022 + 4 = 4096
    assert set(batch.types[4:]) == {0xF} and bytes(batch.data) == bytes(PAGE)
    aligner.report()
    assert "left out 3 XTAB entries" in written[-1]


def test_a_stream_that_cannot_reach_4_byte_alignment_is_refused():
    with pytest.raises(UnsupportedError, match="multiple of 4"):
        align.plan(4098, 4)


def test_the_cli_writes_an_aligned_file_and_map_shows_it(tmp_path):
    spec = SPECS["hvm-64-xl"]
    (tmp_path / "in").write_bytes(legacy_bytes(spec))
    run = [sys.executable, "-m", "xcformat"]
    done = subprocess.run(run + ["convert", str(tmp_path / "in"), str(tmp_path / "out"), "--to",
                                 "legacy", "--align", "--no-progress"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    check_layout((tmp_path / "out").read_bytes(), spec)
    shown = subprocess.run(run + ["map", str(tmp_path / "out"), "--guest", "hvm"],
                           capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    pages = int(shown.stdout.rsplit("; ", 1)[1].split()[0])
    assert f"{pages} of {pages} pages aligned" in shown.stdout


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.data_too_large])
@given(case=spec_images(variant="4.5"))
def test_any_4_5_image_aligns_and_keeps_its_pages(tmp_path_factory, case):
    spec, image = case
    tmp = tmp_path_factory.mktemp("align")
    out, data, _ = aligned(tmp, spec, image)
    regions = []                # tmem and -6 have no fixed size: the reader's map, not walk()
    read_all(out, hints_for(spec), regions.append)
    pages_at = [r.offset for r in regions if r.kind == "page-data"]
    assert pages_at and all(at % PAGE == 0 for at in pages_at)
    same_content(tmp / "in", out, spec)


@needs_xen_tools
@pytest.mark.parametrize("name", ["pv-64-64", "pv-32-32", "pv-64-32", "hvm-64", "hvm-32",
                                  "pv-64-xl", "hvm-64-xl"])
def test_xen_converter_takes_the_aligned_file_and_keeps_its_pages(tmp_path, name):
    """Xen's convert-legacy-stream drops the fillers, ignores the -9s; its v2 has our pages."""
    spec = SPECS[name]
    out, data, _ = aligned(tmp_path, spec)
    bare = tmp_path / "bare"             # its xl reader fails under Python 3 (crosscheck module)
    bare.write_bytes(data[stream_start(data):])
    layer = ["-f", "libxl"] if spec.wrapper == "xl" else []
    done = run("convert-legacy-stream", "-i", str(bare), "-o", str(tmp_path / "v2"),
               "-w", str(spec.toolstack_bits), "-g", spec.guest, *layer)
    assert done.returncode == 0, done.stderr
    verified = run("verify-stream-v2", "-i", str(tmp_path / "v2"), *layer)
    assert verified.returncode == 0, verified.stderr
    from xcformat import formats
    from xcformat.io import open_source
    with open_source(str(tmp_path / "v2")) as source:
        got = [dataclasses.replace(r, data=memoryview(bytes(r.data)))
               if isinstance(r, PageBatch) else r
               for r in formats.get("v2").reader(source, Hints()).records()]
    want, _, _ = read_all(tmp_path / "in", hints_for(spec))
    assert final_pages(got) == final_pages(want)


def _aligned_sample() -> tuple[GuestSpec, bytes]:
    spec = GuestSpec(pages=40, vcpus=2)
    with tempfile.TemporaryDirectory() as tmp:
        return spec, aligned(Path(tmp), spec)[1]


ALIGNED_SPEC, ALIGNED_IMAGE = _aligned_sample()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.data_too_large])
@given(image=st.one_of(mutations(ALIGNED_IMAGE), truncations(ALIGNED_IMAGE)))
def test_a_damaged_aligned_file_fails_only_with_format_errors(tmp_path_factory, image):
    """Read and re-aligned: anything but an XcFormatError is a bug."""
    tmp = tmp_path_factory.mktemp("hostile")
    try:
        aligned(tmp, ALIGNED_SPEC, image)
    except XcFormatError:
        return
    regions = []                # whatever was accepted comes out aligned
    read_all(tmp / "out", hints_for(ALIGNED_SPEC), regions.append)
    assert all(r.offset % PAGE == 0 for r in regions if r.kind == "page-data")


def test_pages_before_the_image_header_are_refused_by_name_under_align():
    from xcformat.io import FileObjectSink
    from xcformat.records import End

    writer = formats.get("legacy").writer(FileObjectSink(io.BytesIO(), "<memory>"),
                                          WriteOptions(align=True, say=[].append))
    with pytest.raises(FormatError, match="page data before the image header"):
        writer.write([PageBatch((1,), b"\x00", memoryview(bytes(PAGE))), End()])
