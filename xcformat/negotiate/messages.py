"""Reading and writing the negotiation messages on a socket, every wait bounded by a deadline.

A message is parsed straight off the socket, 8-byte magic first, with exact reads only: nothing
past the message is consumed, so the image that follows is read by the format reader from its
first byte.  Sizes are bounded by the schema (one-byte and two-byte length prefixes), so a lying
peer can make us read at most a few hundred KiB before we refuse it.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass

import construct

from .. import __version__
from ..errors import PeerError
from ..io.peer import recv_exact
from . import schema


@dataclass(frozen=True)
class Accept:
    format: str
    align: bool
    min_version: int
    max_version: int
    features: int


@dataclass(frozen=True)
class Greeting:
    protocol: int
    software: str
    accepts: tuple[Accept, ...]


@dataclass(frozen=True)
class Choice:
    protocol: int
    format: str          #: "" when sender and receiver have nothing in common
    align: bool
    version: int
    features: int


@dataclass(frozen=True)
class Result:
    status: int
    received: int
    message: str


STORED, REFUSED, FAILED = 0, 1, 2


class _Wire:
    """The file-like view construct parses from: exact reads, all before ``deadline``."""

    def __init__(self, sock: socket.socket, name: str, what: str, deadline: float,
                 pending: bytes = b""):
        self._sock, self._name, self._what = sock, name, what
        self._deadline = deadline
        self._pending = pending
        self._offset = 0
        #: Why the last read failed; construct hides it inside its own StreamError.
        self.failure: PeerError | None = None

    def tell(self) -> int:
        """Bytes of the message read so far (construct's error paths ask)."""
        return self._offset

    def read(self, n: int) -> bytes:
        served, self._pending = self._pending[:n], self._pending[n:]
        if len(served) < n:
            try:
                served += self._receive(n - len(served))
            except PeerError as exc:
                self.failure = exc
                raise
        self._offset += n
        return served

    def _receive(self, n: int) -> bytes:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise PeerError(f"{self._name}: {self._what} not complete in time")
        self._sock.settimeout(remaining)
        return recv_exact(self._sock, n, self._name, self._what)


def _parse(struct: construct.Construct, wire: _Wire, name: str, what: str) -> construct.Container:
    try:
        return struct.parse_stream(wire)
    except (construct.ConstructError, UnicodeDecodeError) as exc:
        if wire.failure is not None:
            raise wire.failure from None
        raise PeerError(f"{name}: malformed {what}: {exc}") from None


def _send(sock: socket.socket, data: bytes, name: str, what: str, timeout: float) -> None:
    sock.settimeout(timeout)
    try:
        sock.sendall(data)
    except OSError as exc:
        raise PeerError(f"{name}: cannot send the {what}: {exc.strerror or exc}") from None


def printable(text: str) -> str:
    """Peer text made safe for a terminal: control and formatting characters (escape
    sequences, bidirectional overrides) shown as Python escapes, the rest kept."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _describe(head: bytes) -> str:
    text = head.decode("ascii", "replace") if head.isascii() else head.hex(" ")
    return repr(text[:64])


# -- greeting ---------------------------------------------------------------------------------
def send_greeting(sock: socket.socket, accepts: tuple[Accept, ...], name: str,
                  timeout: float) -> None:
    data = schema.GREETING.build(dict(
        protocol=schema.PROTOCOL, flags=0, software=f"xcformat {__version__}",
        accepts=[dict(format=a.format, align=int(a.align), min_version=a.min_version,
                      max_version=a.max_version, features=a.features) for a in accepts],
        extension=b""))
    _send(sock, data, name, "greeting", timeout)


def await_greeting(sock: socket.socket, name: str, wait: float,
                   timeout: float) -> Greeting | None:
    """The receiver's greeting, or None when the peer says nothing for ``wait`` seconds.

    Anything else it says makes it a peer we do not understand: :class:`PeerError`.
    """
    sock.settimeout(wait)
    try:
        first = sock.recv(1)
    except TimeoutError:
        return None
    except OSError as exc:
        raise PeerError(f"{name}: connection failed before any greeting: "
                        f"{exc.strerror or exc}") from None
    if not first:
        raise PeerError(f"{name}: peer closed the connection without a word")
    if first != schema.GREETING_MAGIC[:1]:
        sock.settimeout(0.2)
        try:
            first += sock.recv(63)
        except OSError:
            pass
        raise PeerError(f"{name}: peer is not an xcformat receiver (it said {_describe(first)});"
                        " nothing was sent")
    wire = _Wire(sock, name, "greeting", time.monotonic() + timeout, pending=first)
    magic = wire.read(schema.MAGIC_SIZE)
    if magic != schema.GREETING_MAGIC:
        raise PeerError(f"{name}: peer is not an xcformat receiver (it said "
                        f"{_describe(magic)}); nothing was sent")
    wire = _Wire(sock, name, "greeting", time.monotonic() + timeout, pending=magic)
    parsed = _parse(schema.GREETING, wire, name, "greeting")
    if len(parsed.accepts) > schema.MAX_ACCEPTS:
        raise PeerError(f"{name}: greeting lists {len(parsed.accepts)} accept entries "
                        f"(at most {schema.MAX_ACCEPTS})")
    return Greeting(parsed.protocol, printable(parsed.software), tuple(
        Accept(printable(a.format), bool(a.align), a.min_version, a.max_version, a.features)
        for a in parsed.accepts))


# -- choice -----------------------------------------------------------------------------------
def send_choice(sock: socket.socket, choice: Choice, name: str, timeout: float) -> None:
    data = schema.CHOICE.build(dict(
        protocol=choice.protocol, format=choice.format, align=int(choice.align),
        version=choice.version, features=choice.features, extension=b""))
    _send(sock, data, name, "choice", timeout)


def read_head(sock: socket.socket, name: str, timeout: float) -> bytes:
    """The first 8 bytes the sender sends (fewer only where its stream ends sooner), taken off
    the socket: the start of a choice, or of an old sender's image.

    Read in a loop, however the bytes are split into segments: ``MSG_WAITALL`` returns early
    on a socket with a timeout.  An old sender may reset the connection after its last byte;
    that ends the head like a close.
    """
    head = bytearray()
    deadline = time.monotonic() + timeout
    while len(head) < schema.MAGIC_SIZE:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            got = sock.recv(schema.MAGIC_SIZE - len(head))
        except TimeoutError:
            raise PeerError(f"{name}: sender silent for {timeout:g} s after the greeting") \
                from None
        except ConnectionResetError:
            break
        except OSError as exc:
            raise PeerError(f"{name}: connection failed before any data: "
                            f"{exc.strerror or exc}") from None
        if not got:
            break
        head += got
    return bytes(head)


def is_choice(head: bytes) -> bool:
    return head == schema.CHOICE_MAGIC


def read_choice(sock: socket.socket, name: str, timeout: float, head: bytes = b"") -> Choice:
    """The sender's choice; ``head`` is what was already read of it (:func:`read_head`)."""
    wire = _Wire(sock, name, "choice", time.monotonic() + timeout, pending=head)
    parsed = _parse(schema.CHOICE, wire, name, "choice")
    return Choice(parsed.protocol, printable(parsed.format), bool(parsed.align),
                  parsed.version, parsed.features)


# -- result -----------------------------------------------------------------------------------
def send_result(sock: socket.socket, result: Result, name: str, timeout: float) -> None:
    data = schema.RESULT.build(dict(status=result.status, received=result.received,
                                    message=result.message[:1000]))
    _send(sock, data, name, "result", timeout)


def read_result(sock: socket.socket, name: str, timeout: float) -> Result:
    wire = _Wire(sock, name, "result", time.monotonic() + timeout)
    parsed = _parse(schema.RESULT, wire, name, "result")
    return Result(parsed.status, parsed.received, printable(parsed.message))
