"""Negotiation with the real formats: each test runs once the formats it needs are registered
(they land in parallel), and builds its input with their own writers or with xcformat.synth."""

from __future__ import annotations

import contextlib
import socket
import struct
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.negotiate.netpeers import (DEADLINE, in_thread, old_receiver, receive_settings, run_receiver,
                      send_file, server, transfer)
from tests.xen_tools import needs_xen_tools, run_xen

from xcformat import formats
from xcformat.errors import XcFormatError
from xcformat.io import open_sink, open_source
from xcformat.negotiate.options import OPTIONS
from xcformat.negotiate.receiver import receive_from_socket
from xcformat.negotiate.sender import SendSettings
from xcformat.records import (PAGE_SIZE, End, GuestType, ImageHeader, P2MFrames, PageBatch,
                              SharedInfo, TscInfo, VcpuContext, VcpuInfo)


def need(*names: str) -> None:
    missing = [n for n in names if getattr(formats.registry().get(n), "writer", None) is None]
    if missing:
        pytest.skip(f"format {', '.join(missing)} not in this tree yet")


def convert(src, dst, to: str) -> bytes:
    with open_source(str(src)) as source, open_sink(str(dst)) as sink:
        fmt, _ = formats.detect(source)
        formats.get(to).writer(sink, formats.WriteOptions()).write(
            fmt.reader(source, formats.Hints()).records())
    return dst.read_bytes()


def pv_records(pages: int = 600):
    """A small 64-bit PV guest, pages saying which pfn they are."""
    records = [ImageHeader(GuestType.PV, pages, guest_bits=64, toolstack_bits=64),
               P2MFrames(tuple(range(-(-pages // 512)))), TscInfo(0, 1, 2_000_000, 0)]
    for lo in range(0, pages, 100):
        pfns = tuple(range(lo, min(pages, lo + 100)))
        data = b"".join(struct.pack("<Q", p) * (PAGE_SIZE // 8) for p in pfns)
        records.append(PageBatch(pfns, bytes(len(pfns)), memoryview(data)))
    return records + [VcpuInfo(0, frozenset({0})), VcpuContext(0, bytes(5168)),
                      SharedInfo(b"\x5a" * PAGE_SIZE), End()]


@pytest.fixture
def v2_file(tmp_path):
    need("v2")
    path = tmp_path / "in.v2"
    with open_sink(str(path)) as sink:
        formats.get("v2").writer(sink, formats.WriteOptions()).write(pv_records())
    return path


@pytest.fixture(params=[dict(), dict(toolstack_bits=32, guest="hvm", wrapper="xl"),
                        dict(variant="3.2", toolstack_bits=32)],
                ids=["pv64-4.5", "hvm32-xl", "pv32-3.2"])
def legacy_file(request, tmp_path):
    return make_legacy(tmp_path, **request.param)


def make_legacy(tmp_path, **spec):
    need("legacy")
    synth = pytest.importorskip("xcformat.synth")
    path = tmp_path / "in.legacy"
    synth.write_legacy(synth.GuestSpec(pages=300, **spec), str(path))
    return path


def page_regions(path) -> list[tuple[int, int]]:
    """(offset, length) of every run of page data, as the file's reader reports it."""
    regions = []
    with open_source(str(path)) as source:
        fmt, _ = formats.detect(source)
        reader = fmt.reader(source, formats.Hints())
        reader.on_region = lambda region: regions.append((region.offset, region.length)) \
            if region.kind == "page-data" else None
        for _ in reader.records():
            pass
    return regions


def all_aligned(regions, pages: int) -> bool:
    return sum(length for _, length in regions) >= pages * PAGE_SIZE and all(
        offset % PAGE_SIZE == 0 and length % PAGE_SIZE == 0 for offset, length in regions)


# -- v2 and aligned ---------------------------------------------------------------------------
def test_v2_between_xcformat_ends_goes_as_aligned_and_comes_back_byte_for_byte(tmp_path,
                                                                               v2_file):
    need("aligned")
    out = tmp_path / "got"
    sent, received = transfer(v2_file, out)
    assert (received.format, sent.option.name) == ("aligned", "aligned")
    assert all_aligned(page_regions(out), 600)
    assert convert(out, tmp_path / "back", "v2") == v2_file.read_bytes()


def test_a_receiver_taking_only_v2_gets_v2_with_every_page_aligned(tmp_path, v2_file):
    out = tmp_path / "got"
    sent, received = transfer(v2_file, out, receive_settings(
        accept=(OPTIONS["v2-align"], OPTIONS["v2"])))
    assert (received.format, sent.option.name) == ("v2", "v2-align")
    assert all_aligned(page_regions(out), 600)


def test_an_old_v2_reader_gets_the_v2_file_unchanged_with_to_v2(v2_file):
    srv, address = server()
    reading = old_receiver(srv)
    send_file(str(v2_file), address, SendSettings(wait=0.3, fallback=OPTIONS["v2"]))
    assert reading.result(DEADLINE) == v2_file.read_bytes()


# -- legacy -----------------------------------------------------------------------------------
def test_legacy_between_xcformat_ends_goes_as_aligned_and_converts_back_exactly(tmp_path,
                                                                                legacy_file):
    need("aligned")
    out = tmp_path / "got"
    sent, received = transfer(legacy_file, out)
    assert (received.format, sent.option.name) == ("aligned", "aligned")
    assert convert(out, tmp_path / "back", "legacy") == legacy_file.read_bytes()


def test_an_old_legacy_reader_gets_the_legacy_image_byte_for_byte(legacy_file):
    srv, address = server()
    reading = old_receiver(srv)
    sent = send_file(str(legacy_file), address, SendSettings(wait=0.3))
    assert not sent.negotiated
    assert reading.result(DEADLINE) == legacy_file.read_bytes()


def test_an_old_legacy_sender_is_sniffed_and_stored_unchanged(tmp_path, legacy_file):
    import socket
    srv, address = server()
    out = tmp_path / "got"
    receiving = run_receiver(srv, str(out))
    with socket.create_connection(("127.0.0.1", srv.getsockname()[1]), 5) as sock:
        sock.sendall(legacy_file.read_bytes())
    assert receiving.result(DEADLINE).format == "legacy"
    assert out.read_bytes() == legacy_file.read_bytes()


@pytest.mark.parametrize("target, expected", [("xcformat", "aligned"), ("xen-4.14+", "v2"),
                                              ("xen-4.6+", "v2")])
def test_convert_to_auto_for_a_target(tmp_path, legacy_file, target, expected):
    need("aligned", "v2")
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "xcformat", "convert", str(legacy_file),
                           str(out), "--to", "auto", "--for", target, "--no-progress"],
                          capture_output=True, text=True, timeout=DEADLINE)
    assert done.returncode == 0, done.stderr
    assert f"writing {OPTIONS[expected].name}" in done.stderr or expected in done.stderr
    with open_source(str(out)) as source:
        assert formats.detect(source)[0].name == expected
    assert expected != "legacy" or out.read_bytes() == legacy_file.read_bytes()


@pytest.mark.parametrize("bits, expected", [(64, "legacy"), (32, "legacy-align")])
def test_for_xen_4_0_fills_batches_only_with_a_32_bit_toolstack(tmp_path, bits, expected):
    """Restorers up to 4.0 skip XTAB fillers but fail on the -9 a W=64 batch needs."""
    source = make_legacy(tmp_path, toolstack_bits=bits)
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "xcformat", "convert", str(source), str(out),
                           "--to", "auto", "--for", "xen-4.0", "--no-progress"],
                          capture_output=True, text=True, timeout=DEADLINE)
    assert done.returncode == 0, done.stderr
    assert f"writing {expected}\n" in done.stderr
    assert (out.read_bytes() == source.read_bytes()) == (expected == "legacy")


@needs_xen_tools
def test_the_xen_verifier_accepts_the_aligned_v2_a_receiver_got(tmp_path, v2_file):
    out = tmp_path / "got"
    sent, _ = transfer(v2_file, out, receive_settings(accept=(OPTIONS["v2-align"],)))
    assert sent.option.name == "v2-align"
    done = run_xen("verify-stream-v2", "-i", out, timeout=DEADLINE)
    assert done.returncode == 0, done.stdout + done.stderr


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.data_too_large])
@given(data=st.data())
def test_whatever_an_old_sender_streams_is_stored_exactly_or_refused_cleanly(tmp_path_factory,
                                                                            data):
    need("legacy")
    testing = pytest.importorskip("xcformat.testing")
    image = data.draw(testing.legacy_images(variant="4.5", max_pages=12).flatmap(
        lambda image: st.one_of(st.just(image), testing.mutations(image))))
    out = tmp_path_factory.mktemp("recv") / "got"
    ours, theirs = socket.socketpair()

    def old_sender():
        with contextlib.suppress(OSError):   # a refusing receiver stops reading and closes
            theirs.sendall(image)
            theirs.shutdown(socket.SHUT_WR)

    feeding = in_thread(old_sender)
    try:
        got = receive_from_socket(ours, "pair", str(out), receive_settings(timeout=2))
    except XcFormatError:
        assert not out.exists()
    else:
        assert out.read_bytes() == image and got.format == "legacy"
    finally:
        ours.close()
    feeding.result(DEADLINE)
    theirs.close()


def test_an_old_legacy_reader_gets_a_v2_file_as_a_legacy_stream_with_the_same_pages(tmp_path):
    need("v2")
    v2_file = tmp_path / "in.v2"       # from a consistent guest: the legacy reader checks cr3
    convert(make_legacy(tmp_path, variant="3.2", toolstack_bits=32), v2_file, "v2")
    srv, address = server()
    reading = old_receiver(srv)
    sent = send_file(str(v2_file), address, SendSettings(wait=0.3))
    got = tmp_path / "got.legacy"
    got.write_bytes(reading.result(DEADLINE))
    assert (sent.option.name, sent.negotiated) == ("legacy", False)

    def pages(path):
        with open_source(str(path)) as source:
            fmt, _ = formats.detect(source)
            return fmt.name, b"".join(bytes(r.data) for r in fmt.reader(
                source, formats.Hints()).records() if isinstance(r, PageBatch))
    assert pages(got) == ("legacy", pages(v2_file)[1])
