"""Sources and sinks on a connection to a peer: a TCP socket, or a pipe (stdin/stdout, ssh).

They are the ordinary :class:`Source` and :class:`Sink` with the byte movement replaced, so every
reader and writer works on them unchanged.  What differs from a file:

* a peer can fall silent: on a socket every wait is bounded by ``timeout`` (an idle timeout, it
  restarts with every byte that moves); a pipe waits as long as its other end lets it;
* a peer can hang up: that is a :class:`~xcformat.errors.PeerError` (exit 1), never the
  :class:`~xcformat.errors.EnvironmentProblem` a failing disk is;
* a receiver keeps what it reads: :class:`PeerSource` copies every byte it takes from the peer to
  an optional ``tee`` sink, so the file written is exactly the stream received, while the format's
  reader checks it on the way through.
"""

from __future__ import annotations

import mmap
import os
import socket
import time
from collections.abc import Callable

from ..errors import EnvironmentProblem, PeerError
from .modes import IoMode
from .sink import Sink
from .source import Source


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6addr]:PORT`` for IPv6) as a ``(host, port)`` pair."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise EnvironmentProblem(f"{text!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def connect(address: str, timeout: float) -> socket.socket:
    """A TCP connection to ``HOST:PORT``, made within ``timeout`` seconds."""
    host, port = parse_address(address)
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except TimeoutError:
        raise PeerError(f"{address}: no answer to connect within {timeout:g} s") from None
    except OSError as exc:
        # Nobody listening, no route, no such host: the machine or the command line is at fault.
        raise EnvironmentProblem(f"{address}: cannot connect: {exc.strerror or exc}") from None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def listen(address: str) -> socket.socket:
    """A listening TCP socket on ``HOST:PORT`` (port 0: any free port; see ``getsockname``)."""
    host, port = parse_address(address)
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        server = socket.socket(family, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((host, port))
        server.listen(1)
    except OSError as exc:
        raise EnvironmentProblem(f"{address}: cannot listen: {exc.strerror or exc}") from None
    return server


def accept(server: socket.socket, timeout: float) -> tuple[socket.socket, str]:
    """The first connection to ``server`` within ``timeout`` seconds, and the peer's name."""
    server.settimeout(timeout)
    try:
        sock, peer = server.accept()
    except TimeoutError:
        raise PeerError(f"no sender connected within {timeout:g} s") from None
    sock.settimeout(timeout)
    return sock, f"{peer[0]}:{peer[1]}"


def _peer_failure(name: str, what: str, offset: int, exc: OSError, timeout: float | None
                  ) -> PeerError:
    if isinstance(exc, TimeoutError):
        return PeerError(f"{name}: peer silent for {timeout:.3g} s while {what} at offset "
                         f"{offset:#x}")
    return PeerError(f"{name}: peer hung up while {what} at offset {offset:#x} "
                     f"({exc.strerror or exc})")


class PeerSource(Source):
    """The stream a peer sends, read through the ordinary :class:`Source` window.

    ``sock`` is a connected socket (its timeout bounds each wait) or None to read the fd (a
    pipe).  Every byte taken from the peer is also written to ``tee`` when it is set.
    ``head`` is what was already taken off the connection (it is served first).

    ``reset_is_eof``: take a connection reset for the end of the stream.  An old sender that
    closes without reading what we sent it resets the connection after its last byte; the
    format reader still tells a whole image from a cut one.

    ``min_rate`` (bytes per second, sockets only): a peer must send at least that much over
    every ``window`` seconds, or it is dropped; a peer dripping a byte now and then stays
    clear of the idle timeout and would otherwise hold the connection for ever.
    :attr:`limit` caps the bytes taken from the peer.
    """

    def __init__(self, fd: int, name: str, *, sock: socket.socket | None = None,
                 reset_is_eof: bool = False, head: bytes = b"", min_rate: int = 0,
                 window: float = 30.0, limit: int | None = None):
        super().__init__(fd, name, mode=IoMode.BUFFERED, close=False)
        self._sock = sock
        self._reset_is_eof = reset_is_eof
        self._head = head
        #: Where every byte taken from the peer is also written (the receiver's output), or None.
        self.tee: Sink | None = None
        self._recv: Callable[[memoryview], int] = (
            sock.recv_into if sock is not None else lambda view: os.readv(fd, [view]))
        #: Bytes taken from the peer so far (the read-ahead included).
        self.received = 0
        #: The most bytes taken from the peer before it is refused (None: no cap), and why.
        self.limit = limit
        self._limit_reason = "--max-size"
        self._rate = RateFloor(min_rate if sock is not None else 0, window, name)

    def cap(self, limit: int, reason: str) -> None:
        """Lower :attr:`limit` to ``limit`` (counted from the stream's first byte)."""
        if self.limit is None or limit < self.limit:
            self.limit, self._limit_reason = limit, reason
            self._check_limit()

    def _check_limit(self) -> None:
        if self.limit is not None and self.received > self.limit:
            raise PeerError(f"{self.name}: the stream goes past {self.limit} bytes "
                            f"({self._limit_reason}); refused")

    def _read_into(self, target: memoryview) -> int:
        if self._head:
            got = min(len(self._head), len(target))
            target[:got] = self._head[:got]
            self._head = self._head[got:]
        else:
            try:
                got = self._recv(target)
            except OSError as exc:
                if self._reset_is_eof and isinstance(exc, ConnectionResetError):
                    return 0
                raise _peer_failure(self.name, "receiving", self.received, exc,
                                    self._sock.gettimeout() if self._sock else None) from None
        self.received += got
        self._check_limit()
        self._rate.saw(got, self.received)
        if got and self.tee is not None:
            self.tee.write(target[:got])
        return got


class RateFloor:
    """A minimum transfer rate, checked over successive windows of ``window`` seconds."""

    def __init__(self, min_rate: int, window: float, name: str):
        self._min_rate, self._window, self._name = min_rate, window, name
        self._start = time.monotonic()
        self._bytes = 0

    def saw(self, got: int, total: int) -> None:
        if not self._min_rate:
            return
        self._bytes += got
        now = time.monotonic()
        elapsed = now - self._start
        if elapsed < self._window:
            return
        if self._bytes < self._min_rate * elapsed:
            raise PeerError(f"{self._name}: peer too slow: {self._bytes} bytes in the last "
                            f"{elapsed:.3g} s, below the minimum of {self._min_rate} bytes/s "
                            f"(--min-rate), at offset {total:#x}")
        self._start, self._bytes = now, 0


class PeerSink(Sink):
    """A stream sent to a peer; ``sock`` as for :class:`PeerSource`."""

    def __init__(self, fd: int, name: str, *, sock: socket.socket | None = None):
        super().__init__(fd, name, mode=IoMode.BUFFERED)
        self._sock = sock
        self._send: Callable[[memoryview], int] = (
            sock.send if sock is not None else lambda view: os.write(fd, view))

    def write(self, data: bytes | bytearray | memoryview | mmap.mmap, *,
              gather: bool = False) -> None:
        view = memoryview(data).cast("B")
        while view:
            try:
                done = self._send(view)
            except OSError as exc:
                raise _peer_failure(self.name, "sending", self.offset, exc,
                                    self._sock.gettimeout() if self._sock else None) from None
            view = view[done:]
            self.offset += done


def recv_exact(sock: socket.socket, n: int, name: str, what: str) -> bytes:
    """Exactly ``n`` bytes of a protocol message; the socket's timeout bounds each wait."""
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        try:
            step = sock.recv_into(view[got:])
        except OSError as exc:
            raise _peer_failure(name, f"reading {what}", got, exc, sock.gettimeout()) from None
        if step == 0:
            raise PeerError(f"{name}: peer hung up inside {what} after {got} of {n} bytes")
        got += step
    return bytes(buf)
