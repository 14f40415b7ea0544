"""Test helpers: both ends of a negotiation on loopback, each in a thread with a deadline."""

from __future__ import annotations

import socket
import time
from concurrent.futures import Future, ThreadPoolExecutor

from xcformat import formats
from xcformat.io import open_source
from xcformat.io.peer import accept, connect, listen
from xcformat.negotiate import messages
from xcformat.negotiate.receiver import ReceiveSettings, receive_from_socket
from xcformat.negotiate.sender import SendSettings, send_to_socket

#: No test waits longer than this for a peer thread.
DEADLINE = 20

_pool = ThreadPoolExecutor(max_workers=4)


def receive_settings(**changes) -> ReceiveSettings:
    """Receiver settings for tests: short timeouts, a short hold before greeting."""
    return ReceiveSettings(**{"timeout": 5, "hold": 0.1, **changes})


def server() -> tuple[socket.socket, str]:
    srv = listen("127.0.0.1:0")
    return srv, "127.0.0.1:%d" % srv.getsockname()[1]


def in_thread(fn, *args) -> Future:
    return _pool.submit(fn, *args)


def run_receiver(srv: socket.socket, out: str, settings: ReceiveSettings | None = None
                 ) -> Future:
    def job():
        sock, peer = accept(srv, 10)
        with sock:
            return receive_from_socket(sock, peer, out, settings or receive_settings())
    return in_thread(job)


def send_file(path: str, address: str, settings: SendSettings = SendSettings()):
    with open_source(path) as source:
        _, sniffed = formats.detect(source)
        sock = connect(address, 5)
        try:
            return send_to_socket(source, sniffed, sock, address, settings)
        finally:
            sock.close()


def transfer(path, out, receive: ReceiveSettings | None = None,
             send: SendSettings = SendSettings()):
    """Send ``path`` to a receiver thread storing ``out``: (what was sent, what was received)."""
    srv, address = server()
    receiving = run_receiver(srv, str(out), receive)
    sent = send_file(str(path), address, send)
    return sent, receiving.result(DEADLINE)


def old_receiver(srv: socket.socket) -> Future:
    """A reader that never speaks (like ``nc -l > file``): everything it got, at EOF."""
    def job():
        sock, _ = srv.accept()
        sock.settimeout(10)
        got = bytearray()
        with sock:
            while chunk := sock.recv(1 << 16):
                got += chunk
        return bytes(got)
    return in_thread(job)


def scripted_receiver(srv: socket.socket, say: bytes, *, read: int | None = None,
                      hold: float = 0) -> Future:
    """A fake receiver: says ``say``, reads ``read`` bytes (None: to EOF), keeps quiet for
    ``hold`` seconds and hangs up."""
    def job():
        sock, _ = srv.accept()
        sock.settimeout(10)
        got = bytearray()
        with sock:
            sock.sendall(say)
            try:
                while (read is None or len(got) < read) and (chunk := sock.recv(1 << 16)):
                    got += chunk
            except OSError:
                pass
            time.sleep(hold)
        return bytes(got)
    return in_thread(job)


def scripted_sender(address: str, send: bytes, *, shutdown: bool = True) -> Future:
    """A fake sender: reads the greeting, sends ``send``, returns the receiver's answer."""
    def job():
        sock = socket.create_connection(("127.0.0.1", int(address.rsplit(":", 1)[1])), 5)
        with sock:
            greeting = messages.await_greeting(sock, address, 5, 5)
            try:
                sock.sendall(send)
                if shutdown:
                    sock.shutdown(socket.SHUT_WR)
                return greeting, messages.read_result(sock, address, 5)
            except Exception as exc:  # the receiver may have hung up on us: that is the answer
                return greeting, exc
    return in_thread(job)
