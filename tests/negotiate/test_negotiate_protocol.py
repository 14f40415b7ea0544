"""The negotiation protocol on real loopback sockets, with toy formats standing in for the real
ones (so every choice can be exercised whatever formats exist)."""

from __future__ import annotations

import socket
import struct
import time

import pytest
from tests.negotiate import toyformats
from tests.negotiate.netpeers import (DEADLINE, old_receiver, receive_settings, run_receiver, scripted_receiver,
                      scripted_sender, send_file, server, transfer)

from xcformat import formats
from xcformat.errors import FormatError, NegotiationError, PeerError, TruncatedError
from xcformat.negotiate import messages, schema
from xcformat.negotiate.options import OPTIONS
from xcformat.negotiate.receiver import ReceiveSettings
from xcformat.negotiate.sender import SendSettings


@pytest.fixture(autouse=True)
def toy_registry(monkeypatch):
    monkeypatch.setattr(formats, "registry", lambda: toyformats.REGISTRY)


@pytest.fixture
def legacy_file(tmp_path):
    path = tmp_path / "in.legacy"
    path.write_bytes(toyformats.image("legacy", 40))
    return path


def choice_bytes(fmt: str, align: bool = False, version: int = 1) -> bytes:
    return schema.CHOICE.build(dict(protocol=1, format=fmt, align=int(align), version=version,
                                    features=0, extension=b""))


def greeting_bytes(*accepts: tuple[str, bool, int, int]) -> bytes:
    return schema.GREETING.build(dict(
        protocol=1, flags=0, software="fake",
        accepts=[dict(format=f, align=int(a), min_version=lo, max_version=hi, features=0)
                 for f, a, lo, hi in accepts], extension=b""))


def accepting(*names: str) -> ReceiveSettings:
    return receive_settings(accept=tuple(OPTIONS[n] for n in names))


# -- two xcformat ends ------------------------------------------------------------------------
def test_two_xcformat_ends_negotiate_aligned_and_it_converts_back_to_the_original(
        tmp_path, legacy_file):
    out = tmp_path / "got"
    sent, got = transfer(legacy_file, out)
    assert (sent.option.name, sent.negotiated, got.format) == ("aligned", True, "aligned")
    assert out.read_bytes()[:8] == toyformats.MAGICS["aligned"]
    assert sent.size == got.size == out.stat().st_size
    back = toyformats.REGISTRY["legacy"]
    from xcformat.io import open_sink, open_source
    with open_source(str(out)) as src, open_sink(str(tmp_path / "back")) as sink:
        back.writer(sink, formats.WriteOptions()).write(
            toyformats.REGISTRY["aligned"].reader(src, formats.Hints()).records())
    assert (tmp_path / "back").read_bytes() == legacy_file.read_bytes()


@pytest.mark.parametrize("accepted, expected", [
    (("v2", "v2-align", "legacy"), ("v2-align", 1)),
    (("legacy", "v2"), ("v2", 0)),
    (("legacy",), ("legacy", 0)),
])
def test_the_sender_takes_the_best_the_receiver_accepts(tmp_path, legacy_file, accepted,
                                                          expected):
    out = tmp_path / "got"
    sent, _ = transfer(legacy_file, out, accepting(*accepted))
    assert sent.option.name == expected[0]
    header = out.read_bytes()[:9]
    assert header[:8] == toyformats.MAGICS[OPTIONS[expected[0]].format]
    assert header[8] == expected[1]   # the toy writer records the aligned variant


def test_nothing_in_common_fails_both_ends_and_leaves_no_file(tmp_path, legacy_file):
    srv, address = server()
    out = tmp_path / "got"
    receiving = run_receiver(srv, str(out), accepting("legacy"))
    with pytest.raises(NegotiationError, match="nothing in common"):
        send_file(str(legacy_file), address, SendSettings(offer=(OPTIONS["aligned"],)))
    with pytest.raises(NegotiationError):
        receiving.result(DEADLINE)
    assert list(tmp_path.iterdir()) == [legacy_file]


# -- old peers --------------------------------------------------------------------------------
@pytest.mark.parametrize("source_format", ["legacy", "aligned"])
def test_a_peer_that_never_speaks_gets_the_plain_legacy_stream_after_the_wait(
        tmp_path, source_format):
    original = toyformats.image("legacy", 30, seed=7)
    path = tmp_path / "in"
    path.write_bytes(original if source_format == "legacy"
                     else toyformats.image("aligned", 30, seed=7))
    srv, address = server()
    reading = old_receiver(srv)
    started = time.monotonic()
    sent = send_file(str(path), address, SendSettings(wait=0.3))
    assert 0.3 <= time.monotonic() - started < 5
    assert (sent.option.name, sent.negotiated) == ("legacy", False)
    assert reading.result(DEADLINE) == original   # not one handshake byte before it


@pytest.mark.parametrize("pages", [20, 2000])
def test_an_old_sender_that_just_streams_is_sniffed_stored_and_never_greeted(tmp_path, pages):
    original = toyformats.image("legacy", pages)    # 2000 pages: more than one send's worth
    srv, _ = server()
    out = tmp_path / "got"
    receiving = run_receiver(srv, str(out))
    with socket.create_connection(("127.0.0.1", srv.getsockname()[1]), 5) as sock:
        sock.sendall(original)
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(DEADLINE)
        assert sock.recv(100) == b""     # the receiver closed without a word to us
    got = receiving.result(DEADLINE)
    assert (got.format, got.negotiated) == ("legacy", False)
    assert out.read_bytes() == original


def test_an_old_sender_that_starts_late_is_greeted_and_still_stored(tmp_path):
    original = toyformats.image("legacy", 20)
    srv, _ = server()
    out = tmp_path / "got"
    receiving = run_receiver(srv, str(out))
    with socket.create_connection(("127.0.0.1", srv.getsockname()[1]), 5) as sock:
        time.sleep(0.3)                  # past the receiver's hold: it greets
        sock.sendall(original)          # never reads the greeting, closes with it unread
    got = receiving.result(DEADLINE)
    assert (got.format, got.negotiated) == ("legacy", False)
    assert out.read_bytes() == original


# -- lying and broken receivers ---------------------------------------------------------------
@pytest.mark.parametrize("say, hang_up, message", [
    (b"SSH-2.0-OpenSSH_9.2\r\n", False, "not an xcformat receiver"),
    (b"xl migration receiver ready, send binary domain data.\n", False,
     "not an xcformat receiver"),
    (schema.GREETING_MAGIC[:1] + b"nope!!!", False, "not an xcformat receiver"),
    (schema.GREETING_MAGIC + b"\x00", True, "hung up inside greeting"),
    (schema.GREETING_MAGIC + b"\x00\x01\x00\x00\x04f\xffke", False, "malformed greeting"),
    (b"", True, "closed the connection without a word"),
])
def test_a_receiver_that_says_something_else_gets_nothing(legacy_file, say, hang_up, message):
    srv, address = server()
    fake = scripted_receiver(srv, say, read=0 if hang_up else None)
    with pytest.raises(PeerError, match=message):
        send_file(str(legacy_file), address, SendSettings(wait=2, timeout=2))
    assert fake.result(DEADLINE) == b""


def test_a_receiver_that_stalls_inside_its_greeting_times_out(legacy_file):
    srv, address = server()
    fake = scripted_receiver(srv, schema.GREETING_MAGIC + b"\x00\x01")
    started = time.monotonic()
    with pytest.raises(PeerError, match="silent|not complete"):
        send_file(str(legacy_file), address, SendSettings(wait=2, timeout=0.5))
    assert time.monotonic() - started < 5
    assert fake.result(DEADLINE) == b""


def test_a_receiver_that_hangs_up_mid_stream_makes_the_sender_fail(tmp_path):
    path = tmp_path / "big"
    path.write_bytes(toyformats.image("legacy", 4096))     # 16 MiB: more than socket buffers
    srv, address = server()
    fake = scripted_receiver(srv, greeting_bytes(("legacy", False, 0, 0)), read=100_000)
    with pytest.raises(PeerError, match="hung up|refused"):
        send_file(str(path), address, SendSettings(timeout=5))
    assert len(fake.result(DEADLINE)) >= 100_000


@pytest.mark.parametrize("hold, message", [(0, "hung up inside result"),
                                            (1.2, "silent|not complete")])
def test_a_receiver_that_never_confirms_fails_the_sender(legacy_file, hold, message):
    srv, address = server()
    fake = scripted_receiver(srv, greeting_bytes(("legacy", False, 0, 0)), hold=hold)
    started = time.monotonic()
    with pytest.raises(PeerError, match=message):
        send_file(str(legacy_file), address, SendSettings(timeout=0.5))
    assert time.monotonic() - started < 5
    got = fake.result(DEADLINE)
    assert got.startswith(schema.CHOICE_MAGIC) and got.endswith(toyformats.TRAILER)


# -- lying and broken senders -----------------------------------------------------------------
def receive_from(tmp_path, data: bytes, settings: ReceiveSettings | None = None):
    srv, address = server()
    out = tmp_path / "got"
    receiving = run_receiver(srv, str(out), settings)
    answer = scripted_sender(address, data)
    return receiving, answer, out


@pytest.mark.parametrize("data, error, message", [
    (choice_bytes("aligned") + toyformats.image("legacy", 3), PeerError,
     "announced aligned but sent a legacy"),
    (choice_bytes("core") + toyformats.image("legacy", 3), PeerError, "did not offer"),
    (choice_bytes("aligned", version=9) + toyformats.image("aligned", 3), PeerError,
     "did not offer"),
    (choice_bytes("aligned") + toyformats.image("aligned", 3)[:5000], TruncatedError,
     "ends after"),
    (choice_bytes("aligned") + b"\x17" * 5000, FormatError, "not an image"),
    (choice_bytes("aligned") + toyformats.image("aligned", 3) + b"junk", FormatError,
     "after the end"),
    (schema.CHOICE_MAGIC + b"\x00\x01\x05ali", PeerError, "hung up inside choice"),
])
def test_a_lying_or_truncated_sender_is_refused_and_leaves_no_file(tmp_path, data, error,
                                                                     message):
    receiving, answer, out = receive_from(tmp_path, data)
    with pytest.raises(error, match=message):
        receiving.result(DEADLINE)
    assert list(tmp_path.iterdir()) == []
    greeting, result = answer.result(DEADLINE)
    assert {a.format for a in greeting.accepts} == {"aligned", "v2", "legacy"}
    if isinstance(result, messages.Result):
        assert result.status == messages.REFUSED and message.split()[0] in result.message


def test_a_sender_that_says_nothing_times_out(tmp_path):
    srv, address = server()
    out = tmp_path / "got"
    receiving = run_receiver(srv, str(out), receive_settings(timeout=0.5))
    with socket.create_connection(("127.0.0.1", srv.getsockname()[1]), 5):
        started = time.monotonic()
        with pytest.raises(PeerError, match="silent"):
            receiving.result(DEADLINE)
        assert time.monotonic() - started < 5
    assert list(tmp_path.iterdir()) == []


def test_a_sender_whose_own_file_is_bad_resets_so_the_receiver_stores_nothing(tmp_path):
    path = tmp_path / "cut"
    path.write_bytes(toyformats.image("legacy", 10)[:-3])   # the trailer is cut short
    srv, address = server()
    out = tmp_path / "got"
    receiving = run_receiver(srv, str(out))
    with pytest.raises(TruncatedError, match="trailer"):
        send_file(str(path), address)
    # Everything but the trailer went out; the reset, not an end of stream, tells the receiver.
    with pytest.raises(PeerError, match="reset"):
        receiving.result(DEADLINE)
    assert not out.exists()


def test_the_sender_never_chooses_a_version_the_receiver_does_not_read(legacy_file):
    srv, address = server()
    # A receiver that reads v2 version 2 only (as Xen 4.6-4.13 do): a legacy image would be
    # written as v2 version 3, so legacy is the only common choice.
    fake = scripted_receiver(srv, greeting_bytes(("v2", False, 2, 2), ("legacy", False, 0, 0)),
                             read=len(schema.CHOICE_MAGIC) + 20)
    with pytest.raises(PeerError):
        send_file(str(legacy_file), address, SendSettings(timeout=2))
    choice = schema.CHOICE.parse(fake.result(DEADLINE))
    assert (choice.format, choice.version) == ("legacy", 0)


def test_a_sender_that_resets_after_its_complete_image_still_gets_it_stored(tmp_path):
    srv, address = server()
    out = tmp_path / "got"
    receiving = run_receiver(srv, str(out))
    image = toyformats.image("aligned", 5)
    with socket.create_connection(("127.0.0.1", srv.getsockname()[1]), 5) as sock:
        messages.await_greeting(sock, address, 5, 5)
        sock.sendall(choice_bytes("aligned") + image)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_WR)
        time.sleep(0.2)
    got = receiving.result(DEADLINE)     # the image ended cleanly (FIN) before the reset
    assert out.read_bytes() == image and got.negotiated


def test_a_sender_that_stalls_mid_image_times_out_and_leaves_no_file(tmp_path):
    srv, address = server()
    out = tmp_path / "got"
    receiving = run_receiver(srv, str(out), receive_settings(timeout=0.5))
    half = toyformats.image("aligned", 40)[:80_000]
    answer = scripted_sender(address, choice_bytes("aligned") + half, shutdown=False)
    started = time.monotonic()
    with pytest.raises(PeerError, match="silent"):
        receiving.result(DEADLINE)
    assert time.monotonic() - started < 5
    _, result = answer.result(DEADLINE)
    assert result.status == messages.REFUSED and "silent" in result.message
    assert list(tmp_path.iterdir()) == []


def test_a_sender_whose_wait_is_shorter_than_the_hold_falls_back_and_still_arrives(
        tmp_path, legacy_file):
    out = tmp_path / "got"
    sent, got = transfer(legacy_file, out, receive_settings(hold=1.0), SendSettings(wait=0.2))
    assert (sent.negotiated, got.negotiated, sent.option.name) == (False, False, "legacy")
    assert out.read_bytes() == legacy_file.read_bytes()
