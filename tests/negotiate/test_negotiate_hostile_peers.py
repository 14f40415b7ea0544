"""Peers that misbehave on real loopback sockets: a receiver that resets after the last byte, a
choice split across segments, a sender that drips, streams past their size, terminal escapes in
a peer's words."""

from __future__ import annotations

import socket
import struct
import threading
import time

import pytest
from tests.negotiate import toyformats
from tests.negotiate.netpeers import DEADLINE, receive_settings, run_receiver, send_file, server

from xcformat import formats, synth
from xcformat.errors import PeerError
from xcformat.negotiate import messages, receiver, schema
from xcformat.negotiate.sender import SendSettings


@pytest.fixture
def toys(monkeypatch):
    monkeypatch.setattr(formats, "registry", lambda: toyformats.REGISTRY)


def choice_bytes(fmt: str, version: int = 1) -> bytes:
    return schema.CHOICE.build(dict(protocol=1, format=fmt, align=0, version=version,
                                    features=0, extension=b""))


def connect(srv: socket.socket) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", srv.getsockname()[1]), 5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def test_a_receiver_that_resets_after_the_last_byte_is_a_peer_error(toys, tmp_path,
                                                                      monkeypatch):
    path = tmp_path / "in.legacy"
    image = toyformats.image("legacy", 20)
    path.write_bytes(image)
    srv, address = server()
    reset = threading.Event()

    def old_receiver_that_resets():
        sock, _ = srv.accept()
        got = 0
        while got < len(image):
            got += len(sock.recv(1 << 16))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()                           # RST instead of FIN
        reset.set()
    thread = threading.Thread(target=old_receiver_that_resets, daemon=True)
    thread.start()
    shutdown = socket.socket.shutdown

    def shutdown_after_the_reset(sock, how):
        # What happens 8 times in 10 on a real network: the RST is in before our FIN.
        reset.wait(DEADLINE)
        time.sleep(0.1)
        return shutdown(sock, how)
    monkeypatch.setattr(socket.socket, "shutdown", shutdown_after_the_reset)
    with pytest.raises(PeerError, match="hung up as the last byte went out"):
        send_file(str(path), address, SendSettings(wait=0.2))
    thread.join(DEADLINE)


def test_a_choice_split_across_two_segments_is_read_whole(toys, tmp_path):
    srv, address = server()
    out = tmp_path / "got"
    receiving = run_receiver(srv, str(out))
    image = toyformats.image("aligned", 5)
    choice = choice_bytes("aligned")
    with connect(srv) as sock:
        messages.await_greeting(sock, address, 5, 5)
        sock.sendall(choice[:3])               # inside the magic
        time.sleep(0.2)
        sock.sendall(choice[3:] + image)
        sock.shutdown(socket.SHUT_WR)
        result = messages.read_result(sock, address, 5)
    assert result.status == messages.STORED, result.message
    got = receiving.result(DEADLINE)
    assert got.negotiated and out.read_bytes() == image


def test_a_sender_that_drips_is_dropped_soon_after_the_window(toys, tmp_path):
    srv, address = server()
    out = tmp_path / "got"
    # An idle timeout alone never fires: a byte comes every 50 ms.
    receiving = run_receiver(srv, str(out), receive_settings(timeout=0.5, min_rate=1000))
    image = toyformats.image("aligned", 5)
    stop = threading.Event()
    with connect(srv) as sock:
        messages.await_greeting(sock, address, 5, 5)
        sock.sendall(choice_bytes("aligned") + image[:100])
        started = time.monotonic()

        def drip():
            with_stop = image[100:]
            for i in range(len(with_stop)):
                if stop.is_set():
                    return
                try:
                    sock.send(with_stop[i:i + 1])
                except OSError:
                    return
                time.sleep(0.05)
        dripping = threading.Thread(target=drip, daemon=True)
        dripping.start()
        with pytest.raises(PeerError, match="too slow"):
            receiving.result(DEADLINE)
        held = time.monotonic() - started
        stop.set()
        dripping.join(5)
    assert held < 2.0, held          # window 0.5 s, plus one drip and the check
    assert list(tmp_path.iterdir()) == []


def test_an_explicit_max_size_refuses_a_longer_stream(toys, tmp_path):
    srv, address = server()
    out = tmp_path / "got"
    receiving = run_receiver(srv, str(out), receive_settings(max_size=50_000))
    image = toyformats.image("aligned", 40)
    with connect(srv) as sock:
        messages.await_greeting(sock, address, 5, 5)
        try:
            sock.sendall(choice_bytes("aligned") + image)
            sock.shutdown(socket.SHUT_WR)
            answer = messages.read_result(sock, address, 5)
        except (OSError, PeerError) as exc:
            answer = exc
    with pytest.raises(PeerError, match="goes past 50000 bytes"):
        receiving.result(DEADLINE)
    assert list(tmp_path.iterdir()) == []
    if isinstance(answer, messages.Result):
        assert answer.status == messages.REFUSED and "--max-size" in answer.message


@pytest.fixture
def tight_slack(monkeypatch):
    """Room for the rest of the image cut to 64 KiB, so that small images can show the cap."""
    monkeypatch.setattr(receiver, "SLACK", 64 << 10)


def _stream_as_an_old_sender(srv, data: bytes) -> threading.Thread:
    def job():
        with connect(srv) as sock:
            try:
                sock.sendall(data)
                sock.shutdown(socket.SHUT_WR)
                sock.recv(1)
            except OSError:
                pass
    thread = threading.Thread(target=job, daemon=True)
    thread.start()
    return thread


def test_the_cap_follows_the_guest_size_the_image_declares(tight_slack, tmp_path):
    # Well-formed and endless in spirit: checkpoint after checkpoint re-sending the same
    # 24-pfn guest, more than 8 copies of its memory.
    remus = tmp_path / "remus.img"
    synth.write_legacy(synth.GuestSpec(variant="remus", pages=16, checkpoints=60), remus)
    data = remus.read_bytes()
    assert len(data) > receiver.declared_cap(24)
    srv, _ = server()
    receiving = run_receiver(srv, str(tmp_path / "got"))
    sending = _stream_as_an_old_sender(srv, data)
    with pytest.raises(PeerError, match="8 copies of the 24 pages the image declares"):
        receiving.result(DEADLINE)
    sending.join(DEADLINE)
    assert not (tmp_path / "got").exists()


def test_an_image_within_its_declared_size_is_stored(tight_slack, tmp_path):
    plain = tmp_path / "plain.img"
    synth.write_legacy(synth.GuestSpec(pages=16), plain)
    srv, _ = server()
    receiving = run_receiver(srv, str(tmp_path / "got"))
    sending = _stream_as_an_old_sender(srv, plain.read_bytes())
    got = receiving.result(DEADLINE)
    sending.join(DEADLINE)
    assert got.format == "legacy"
    assert (tmp_path / "got").read_bytes() == plain.read_bytes()


ESCAPES = "\x1b[31mred\x1b]0;owned\x07\u202eevil\r\n"


def test_peer_text_reaches_us_escaped(toys, tmp_path):
    path = tmp_path / "in.aligned"
    path.write_bytes(toyformats.image("aligned", 3))
    srv, address = server()

    def hostile_receiver():
        sock, _ = srv.accept()
        with sock:
            sock.sendall(schema.GREETING.build(dict(
                protocol=1, flags=0, software="evil " + ESCAPES, extension=b"",
                accepts=[dict(format="aligned", align=0, min_version=1, max_version=1,
                              features=0)])))
            sock.settimeout(5)
            while sock.recv(1 << 16):
                pass
            messages.send_result(sock, messages.Result(messages.REFUSED, 0, ESCAPES), "x", 5)
    thread = threading.Thread(target=hostile_receiver, daemon=True)
    thread.start()
    with pytest.raises(PeerError) as caught:
        send_file(str(path), address)
    thread.join(DEADLINE)
    said = str(caught.value)
    assert "\\x1b[31mred" in said and "\\u202e" in said and "\\r\\n" in said
    assert not any(c in said for c in "\x1b\x07\u202e\r\n")


def test_printable_keeps_ordinary_text():
    assert messages.printable("stored as /srv/guest ✓ café") == "stored as /srv/guest ✓ café"
    assert messages.printable("a\x1b[2Jb\tc") == "a\\x1b[2Jb\\tc"
