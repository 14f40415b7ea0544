"""``xcformat receive --listen HOST:PORT OUT``: take one image from a sender, check it, store it."""

from __future__ import annotations

import sys

from ..io.peer import accept, listen
from ..negotiate.options import OPTIONS, parse_list
from ..negotiate.receiver import ReceiveSettings, receive_from_pipe, receive_from_socket
from .common import add_input_options, byte_count, hints, seconds


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "receive", help="receive one image from a sender and store it",
        description="Listen on HOST:PORT for one sender (--listen - reads standard input).  An "
                    "xcformat sender is greeted and told what we accept; any other sender is "
                    "recognised from its first bytes.  OUT is written atomically: it appears "
                    "only once the whole image has arrived and its reader accepted it.")
    parser.add_argument("--listen", required=True, metavar="HOST:PORT",
                        help="address to listen on (port 0: any free port, announced on "
                             "standard error), or - for standard input")
    parser.add_argument("output", help="file to write (- for standard output)")
    parser.add_argument("--timeout", type=seconds, default=60.0, metavar="S",
                        help="the longest wait for the sender to connect, and the longest "
                             "silence tolerated from it (default 60)")
    parser.add_argument("--hold", type=seconds, default=0.5, metavar="S",
                        help="how long to listen before greeting: a sender that sends first is "
                             "an old one and is not greeted (default 0.5; keep it well below "
                             "the sender's --wait)")
    parser.add_argument("--accept", default=",".join(OPTIONS), metavar="OPTION,...",
                        help=f"what we accept (default all: {','.join(OPTIONS)})")
    parser.add_argument("--min-rate", type=byte_count, default=64 << 10, metavar="BYTES",
                        help="bytes per second a sender must keep up over every --timeout "
                             "seconds, or it is dropped (K, M, G suffixes; 0: no floor; "
                             "default 64K)")
    parser.add_argument("--max-size", type=byte_count, metavar="BYTES",
                        help="refuse a stream longer than this (K, M, G, T suffixes; default: "
                             "8 copies of the guest's pages where the image declares its size, "
                             "plus 256M, else 1T)")
    add_input_options(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    settings = ReceiveSettings(accept=parse_list(args.accept, "--accept"),
                               timeout=args.timeout, hold=args.hold, hints=hints(args),
                               io=args.io, min_rate=args.min_rate, max_size=args.max_size)
    if args.listen == "-":
        got = receive_from_pipe(sys.stdin.fileno(), "<stdin>", args.output, settings)
    else:
        server = listen(args.listen)
        try:
            host, port = server.getsockname()[:2]
            print(f"xcformat: listening on {host}:{port}", file=sys.stderr, flush=True)
            sock, peer = accept(server, args.timeout)
        finally:
            server.close()
        try:
            got = receive_from_socket(sock, peer, args.output, settings)
        finally:
            sock.close()
    how = f"negotiated {got.option.name}" if got.negotiated else "sender did not negotiate"
    if not got.confirmed:
        how += "; the sender left before our confirmation"
    print(f"xcformat: received {args.output} ({got.format}, {got.size} bytes, {how})",
          file=sys.stderr)
    return 0
