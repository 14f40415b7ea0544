"""The receiving side: greet, read what comes, check it all, publish OUT only when it is whole.

The receiver keeps the stream exactly as received (the source tees it into the output sink) and
runs the format's reader over it on the way: a stream the reader rejects, one that ends early,
or one with bytes after its end leaves no file at OUT.  A sender that does not negotiate (an old
sender, or a pipe) is recognised by its first bytes, as a file would be.
"""

from __future__ import annotations

import select
import socket
import time
from dataclasses import dataclass

from .. import formats
from ..errors import (EnvironmentProblem, Finding, FormatError, NegotiationError, PeerError,
                      XcFormatError)
from ..io import IoMode, open_sink
from ..io.peer import PeerSource
from ..records import PAGE_SIZE, ImageHeader
from . import messages
from .options import OPTIONS, Option, by_format, readable, understood_features


@dataclass(frozen=True)
class ReceiveSettings:
    accept: tuple[Option, ...] = tuple(OPTIONS.values())
    timeout: float = 30.0     #: the longest silence tolerated from the sender
    #: How long we listen before greeting: a sender that sends within it is an old one and is
    #: never greeted (an unread greeting makes its kernel reset the connection when it closes,
    #: dropping whatever it had not yet transmitted).
    hold: float = 0.5
    hints: formats.Hints = formats.Hints()
    io: IoMode | str = IoMode.AUTO
    #: Wraps the records read as they arrive (a progress bar, say); None: as they are.
    watch: formats.Watch | None = None
    #: Bytes per second a sender must keep up over every ``timeout`` seconds (0: no floor).
    min_rate: int = 64 << 10
    #: The most bytes taken from a sender; None: derived from the image where it declares its
    #: guest's size (:func:`declared_cap`), else :data:`DEFAULT_MAX_SIZE`.
    max_size: int | None = None


#: The cap on a stream that does not declare its guest's size, without ``--max-size``.
DEFAULT_MAX_SIZE = 1 << 40
#: A live save sends dirtied pages again: at most 3 times the guest's pages in a legacy stream
#: (DEF_MAX_FACTOR in tools/libxc/xc_domain_save.c), a few precopy rounds in v2
#: (tools/libxc/xc_sr_save.c).  The cap allows this many copies of every page, plus room for
#: the rest of the image.
RESENDS = 8
SLACK = 256 << 20


def declared_cap(p2m_size: int) -> int:
    """The most bytes a stream for a guest of ``p2m_size`` pages plausibly takes."""
    return p2m_size * PAGE_SIZE * RESENDS + SLACK


@dataclass(frozen=True)
class Received:
    format: str
    size: int          #: bytes of the image stream
    negotiated: bool
    option: Option | None = None
    #: False when the sender was gone before it heard that we stored the image (OUT stands).
    confirmed: bool = True


def accept_entries(settings: ReceiveSettings) -> tuple[messages.Accept, ...]:
    return tuple(messages.Accept(o.format, o.align, *o.versions, understood_features(o))
                 for o in settings.accept if readable(o))


def take(source: PeerSource, settings: ReceiveSettings,
         announced: Option | None) -> formats.Format:
    """Read the whole image from ``source`` (which tees into OUT); OUT appears only if it is
    a complete, valid image in an accepted format (the ``announced`` one when negotiated)."""
    fmt, _ = formats.detect(source)
    if fmt.name not in {o.format for o in settings.accept}:
        raise NegotiationError(f"{source.name}: sender sent a {fmt.name} image, which is not "
                               f"accepted here ({', '.join(o.name for o in settings.accept)})")
    if announced is not None and fmt.name != announced.format:
        raise PeerError(f"{source.name}: sender announced {announced.name} but sent a "
                        f"{fmt.name} image")
    reader = fmt.reader(source, settings.hints)
    records = reader.records()
    for record in records if settings.watch is None else settings.watch(records, source):
        if settings.max_size is None and type(record) is ImageHeader and record.p2m_size:
            source.cap(declared_cap(record.p2m_size),
                       f"{RESENDS} copies of the {record.p2m_size} pages the image declares; "
                       f"--max-size allows more")
    _refuse_what_validate_refuses(source, reader.findings)
    if not source.at_eof():
        raise source.error("bytes after the end of the image", field="end")
    return fmt


def _refuse_what_validate_refuses(source: PeerSource, findings: list[Finding]) -> None:
    """A reader notes some errors as findings and reads on; ``validate`` calls such an image
    invalid, and so must the receiver."""
    errors = [f for f in findings if f.level == "error"]
    if errors:
        more = f" (and {len(errors) - 1} more errors)" if len(errors) > 1 else ""
        raise FormatError(errors[0].message + more, file=source.name, offset=errors[0].offset,
                          field=errors[0].field)


def _teed(source: PeerSource, out: str, settings: ReceiveSettings,
          announced: Option | None) -> formats.Format:
    try:
        with open_sink(out, settings.io, reading=source.stat()) as sink:
            source.tee = sink
            return take(source, settings, announced)
    finally:
        source.close()


def _speaks_first(sock: socket.socket, hold: float) -> bool:
    """Whether the sender sends (or hangs up) within ``hold`` seconds of connecting: only an
    old sender does, an xcformat sender waits for our greeting."""
    readable, _, _ = select.select([sock], [], [], hold)
    return bool(readable)


def _peer_source(sock: socket.socket, name: str, settings: ReceiveSettings, *,
                 negotiated: bool, head: bytes = b"") -> PeerSource:
    sock.settimeout(settings.timeout)
    # A negotiating sender ends with a clean shutdown; an old one may reset (peer.py).
    return PeerSource(sock.fileno(), name, sock=sock, reset_is_eof=not negotiated, head=head,
                      min_rate=settings.min_rate, window=settings.timeout,
                      limit=_limit(settings))


def _limit(settings: ReceiveSettings) -> int:
    return DEFAULT_MAX_SIZE if settings.max_size is None else settings.max_size


def receive_from_pipe(fd: int, name: str, out: str, settings: ReceiveSettings) -> Received:
    source = PeerSource(fd, name, limit=_limit(settings))
    fmt = _teed(source, out, settings, None)
    return Received(fmt.name, source.received, negotiated=False)


def receive_from_socket(sock: socket.socket, name: str, out: str,
                        settings: ReceiveSettings) -> Received:
    if not _speaks_first(sock, settings.hold):
        messages.send_greeting(sock, accept_entries(settings), name, settings.timeout)
    head = messages.read_head(sock, name, settings.timeout)
    if not messages.is_choice(head):
        source = _peer_source(sock, name, settings, negotiated=False, head=head)
        fmt = _teed(source, out, settings, None)
        return Received(fmt.name, source.received, negotiated=False)
    choice = messages.read_choice(sock, name, settings.timeout, head)
    if not choice.format:
        raise NegotiationError(f"{name}: the sender has nothing in common with what we accept "
                               f"({', '.join(o.name for o in settings.accept)})")
    option = by_format(choice.format, choice.align)
    if option is None or option not in settings.accept or not readable(option) \
            or not option.versions[0] <= choice.version <= option.versions[1]:
        error = PeerError(f"{name}: sender chose {choice.format} "
                          f"{'aligned ' if choice.align else ''}version {choice.version}, "
                          f"which we did not offer")
        _refuse(sock, name, messages.Result(messages.REFUSED, 0, str(error)), settings.timeout)
        raise error
    source = _peer_source(sock, name, settings, negotiated=True)
    try:
        fmt = _teed(source, out, settings, option)
    except XcFormatError as exc:
        status = messages.FAILED if isinstance(exc, EnvironmentProblem) else messages.REFUSED
        _refuse(sock, name, messages.Result(status, source.received, str(exc)),
                settings.timeout)
        raise
    try:
        messages.send_result(sock, messages.Result(messages.STORED, source.received,
                                                   f"stored as {out}"), name, settings.timeout)
    except PeerError:
        return Received(fmt.name, source.received, negotiated=True, option=option,
                        confirmed=False)
    return Received(fmt.name, source.received, negotiated=True, option=option)


def _refuse(sock: socket.socket, name: str, result: messages.Result, timeout: float) -> None:
    """Tell the sender why, best effort, then let its bytes drain so our close is no reset."""
    try:
        messages.send_result(sock, result, name, timeout)
        sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + 1.0
        sock.settimeout(0.2)
        while time.monotonic() < deadline and sock.recv(1 << 16):
            pass
    except (OSError, PeerError):
        pass

