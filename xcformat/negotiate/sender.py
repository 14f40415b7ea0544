"""The sending side: listen for a greeting, pick, convert on the fly, wait for the verdict.

An old receiver never speaks, so nothing is sent before the greeting: a peer silent for ``wait``
seconds gets the fallback stream (legacy by default, byte for byte the legacy image) with no
handshake bytes at all.  A pipe has no back channel and gets the fallback at once.
"""

from __future__ import annotations

import dataclasses
import socket
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .. import formats
from ..errors import EnvironmentProblem, NegotiationError, PeerError
from ..io import Sink, Source
from ..io.peer import PeerSink
from . import messages
from .options import NEGOTIATED, OPTIONS, Option, capabilities, writable, written_version
from .schema import PROTOCOL


@dataclass(frozen=True)
class SendSettings:
    offer: tuple[Option, ...] = tuple(OPTIONS[n] for n in NEGOTIATED)
    fallback: Option = OPTIONS["legacy"]  #: for a peer that does not negotiate, or a pipe
    wait: float = 2.0                     #: how long a silent peer is given to greet us
    timeout: float = 30.0                 #: the longest silence tolerated afterwards
    hints: formats.Hints = formats.Hints()
    write: formats.WriteOptions = field(default_factory=formats.WriteOptions)
    #: The formats' own options by field name (``--output-width``, ``--no-index``): the chosen
    #: format takes those it has (``Capabilities.own_options``), the rest are left aside.
    own: Mapping[str, object] = field(default_factory=dict)
    #: Wraps the records read from the input (a progress bar, say); None: as they are.
    watch: formats.Watch | None = None


@dataclass(frozen=True)
class Sent:
    option: Option
    size: int          #: bytes of the image stream
    negotiated: bool
    peer_software: str | None = None


def pick(offer: Iterable[Option], accepts: Iterable[messages.Accept],
         sniffed: formats.Sniffed | None,
         write: formats.WriteOptions = formats.WriteOptions()) -> Option | None:
    """The first option of ``offer`` (the sender's order) that the receiver accepts, for an
    image ``sniffed`` as it was, and whose format takes ``write`` (``--wrap libxl`` passes over
    aligned, which has no wrappers)."""
    accepts = tuple(accepts)
    for option in offer:
        if not writable(option) or refusal(option, write) is not None:
            continue
        version = written_version(option, sniffed)
        for entry in accepts:
            # Revision-1 writers set no must-understand feature bit, so any mask admits them.
            if (entry.format, entry.align) == (option.format, option.align) \
                    and entry.min_version <= version <= entry.max_version:
                return option
    return None


def refusal(option: Option, write: formats.WriteOptions) -> EnvironmentProblem | None:
    """Why ``option``'s format does not take ``write`` (None when it does)."""
    try:
        capabilities(option).check(option.format, option.write_options(write))
    except EnvironmentProblem as exc:
        return exc
    return None


def stream(source: Source, sniffed: formats.Sniffed, option: Option, sink: Sink,
           settings: SendSettings) -> None:
    """Convert ``source`` (as ``sniffed``) to ``option`` into ``sink``, one record at a time,
    in the version :func:`~xcformat.negotiate.options.written_version` announces."""
    target = formats.registry().get(option.format)
    if target is None or target.writer is None:
        raise NegotiationError(f"this xcformat cannot write {option.name}")
    options = dataclasses.replace(option.write_options(settings.write),
                                  format_options=target.capabilities.own_options(
                                      settings.own, strict=False))
    if options.version is None and target.capabilities.versions:
        options = dataclasses.replace(options, version=written_version(option, sniffed))
    records = formats.get(sniffed.format).reader(source, settings.hints).records()
    moving = records if settings.watch is None else settings.watch(records, source)
    target.new_writer(sink, options).write(moving)


def send_to_pipe(source: Source, sniffed: formats.Sniffed, fd: int, name: str,
                 settings: SendSettings) -> Sent:
    sink = PeerSink(fd, name)
    stream(source, sniffed, settings.fallback, sink, settings)
    return Sent(settings.fallback, sink.offset, negotiated=False)


def send_to_socket(source: Source, sniffed: formats.Sniffed, sock: socket.socket, name: str,
                   settings: SendSettings) -> Sent:
    greeting = messages.await_greeting(sock, name, settings.wait, settings.timeout)
    option = settings.fallback if greeting is None else _agree(sock, name, greeting, sniffed,
                                                               settings)
    sock.settimeout(settings.timeout)
    sink = PeerSink(sock.fileno(), name, sock=sock)
    try:
        stream(source, sniffed, option, sink, settings)
        _end_of_stream(sock, name)
    except PeerError as exc:
        refusal = _refusal(sock, name) if greeting is not None else None
        raise (refusal or exc) from None
    except BaseException:
        # Our own input failed: reset the connection so the receiver cannot mistake what it
        # got so far for a whole image.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        raise
    if greeting is None:
        return Sent(option, sink.offset, negotiated=False)
    result = messages.read_result(sock, name, settings.timeout)
    if result.status != messages.STORED:
        raise PeerError(f"{name}: the receiver refused the stream: {result.message}")
    if result.received != sink.offset:
        raise PeerError(f"{name}: the receiver stored {result.received} bytes of the "
                        f"{sink.offset} sent")
    return Sent(option, sink.offset, negotiated=True, peer_software=greeting.software)


def _end_of_stream(sock: socket.socket, name: str) -> None:
    """Tell the receiver the image is complete (shut our sending side)."""
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError as exc:
        # The receiver reset the connection after our last byte (ENOTCONN, ECONNRESET).
        raise PeerError(f"{name}: the receiver hung up as the last byte went out "
                        f"({exc.strerror or exc}); it never confirmed the image") from None


def _agree(sock: socket.socket, name: str, greeting: messages.Greeting,
           sniffed: formats.Sniffed, settings: SendSettings) -> Option:
    """Pick from the greeting and tell the receiver (an empty choice when nothing fits)."""
    option = pick(settings.offer, greeting.accepts, sniffed, settings.write)
    if option is None:
        messages.send_choice(sock, messages.Choice(PROTOCOL, "", False, 0, 0), name,
                             settings.timeout)
        offered = ", ".join(f"{a.format}{'-align' if a.align else ''}"
                            for a in greeting.accepts) or "nothing"
        raise NegotiationError(f"{name}: nothing in common: the receiver accepts {offered}; "
                               f"we offer {', '.join(o.name for o in settings.offer)}")
    messages.send_choice(sock, messages.Choice(
        min(PROTOCOL, greeting.protocol), option.format, option.align,
        written_version(option, sniffed), 0), name, settings.timeout)
    return option


def _refusal(sock: socket.socket, name: str) -> PeerError | None:
    """The receiver's reason, when it hung up on us after saying why."""
    try:
        result = messages.read_result(sock, name, timeout=1.0)
    except PeerError:
        return None
    return PeerError(f"{name}: the receiver refused the stream after {result.received} "
                     f"bytes: {result.message}")
