"""``xcformat receive --listen HOST:PORT OUT``: take one image from a sender, check it, store it."""

from __future__ import annotations

import functools
import sys

from ..io.peer import accept, listen
from ..negotiate.options import OPTIONS, parse_list
from ..negotiate.receiver import ReceiveSettings, receive_from_pipe, receive_from_socket
from . import human
from .common import (add_common_options, byte_count, hints, json_needs_stdout_free, print_json,
                     progress, progress_wanted, seconds)


HELP = "receive one image from a sender and store it"
DESCRIPTION = ("Listen on HOST:PORT for one sender (--listen - reads standard input).  An "
               "xcformat sender is greeted and told what we accept; any other sender is "
               "recognised from its first bytes.  OUT is written atomically: it appears only once "
               "the whole image has arrived and its reader accepted it (a FIFO or a device is "
               "written in place, as the bytes arrive).")


def add_arguments(parser) -> None:
    parser.add_argument("--listen", required=True, metavar="HOST:PORT",
                        help="address to listen on (port 0: any free port; the address is "
                             "announced on standard error as 'xcformat: listening on "
                             "HOST:PORT', even with --quiet), or - for standard input")
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
    add_common_options(parser, json_help="print a JSON summary of what was received (OUT "
                                          "cannot then be -)")


def run(args) -> int:
    json_needs_stdout_free(args, args.output)
    settings = ReceiveSettings(accept=parse_list(args.accept, "--accept"),
                               timeout=args.timeout, hold=args.hold, hints=hints(args),
                               io=args.io, min_rate=args.min_rate, max_size=args.max_size,
                               watch=functools.partial(progress, enabled=progress_wanted(args),
                                                       label=f"receive {args.output}"))
    address = None
    if args.listen == "-":
        got = receive_from_pipe(sys.stdin.fileno(), "<stdin>", args.output, settings)
    else:
        server = listen(args.listen)
        try:
            host, port = server.getsockname()[:2]
            address = f"{host}:{port}"
            # Scripts wait for this line (and read the port from it), so --quiet keeps it.
            print(f"xcformat: listening on {address}", file=sys.stderr, flush=True)
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
    args.report.say(f"received {args.output} ({got.format}, "
                    f"{human.size(got.size, exact=False)}, {how})")
    if args.json:
        print_json({"output": args.output, "listen": address, "format": got.format,
                    "size": got.size, "negotiated": got.negotiated,
                    "option": got.option.name if got.option else None,
                    "confirmed": got.confirmed, "messages": args.report.messages})
    return 0
