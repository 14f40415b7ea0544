"""``xcformat send FILE HOST:PORT``: send an image to a receiver in the best format both accept."""

from __future__ import annotations

import functools
import sys

from ..errors import EnvironmentProblem
from ..io.peer import connect
from ..negotiate.options import NEGOTIATED, OPTIONS, parse_list
from ..negotiate.sender import SendSettings, refusal, send_to_pipe, send_to_socket
from . import human
from .common import (add_common_options, add_format_options, add_wrap_option, format_options,
                     hints, json_needs_stdout_free, open_image, print_json, progress,
                     progress_wanted, seconds, width_also, write_options)


HELP = "send an image to a receiver, negotiating the format"
DESCRIPTION = ("Connect to HOST:PORT and wait for the receiver's greeting; an xcformat receiver "
               "gets the best format both ends accept (aligned, v2 --align, v2, legacy), "
               "converted on the fly.  A peer that says nothing within --wait seconds is taken "
               "for an old reader and gets --to (legacy: the legacy image byte for byte) with no "
               "handshake bytes.  DEST - writes --to to standard output (no back channel, no "
               "negotiation).")


def add_arguments(parser) -> None:
    parser.add_argument("input", help="image to send (- for standard input)")
    parser.add_argument("dest", metavar="HOST:PORT", help="the receiver, or - for standard output")
    parser.add_argument("--wait", type=seconds, default=2.0, metavar="S",
                        help="how long a silent peer is given to greet us before it is taken "
                             "for an old reader (default 2)")
    parser.add_argument("--timeout", type=seconds, default=30.0, metavar="S",
                        help="the longest silence tolerated from the peer once it spoke, and for "
                             "connecting (default 30)")
    parser.add_argument("--offer", default=",".join(NEGOTIATED), metavar="OPTION,...",
                        help="what we may send an xcformat receiver, best first (default "
                             f"{','.join(NEGOTIATED)}; known: {', '.join(OPTIONS)})")
    parser.add_argument("--to", default="legacy", choices=list(OPTIONS), metavar="OPTION",
                        help="what to send a peer that does not negotiate (an old reader, or a "
                             "pipe); default legacy")
    add_wrap_option(parser, "file wrapper for the chosen format's writer (e.g. libxl for v2, "
                            "which carries an HVM guest's device model); what is offered "
                            "that cannot take it is passed over")
    parser.add_argument("--drop", default="", metavar="KIND,...",
                        help="record kinds the chosen format cannot carry that may be dropped")
    add_format_options(parser)
    add_common_options(parser, json_help="print a JSON summary of what was sent (DEST cannot "
                                          "then be -)")


def run(args) -> int:
    json_needs_stdout_free(args, args.dest)
    settings = SendSettings(offer=parse_list(args.offer, "--offer"), fallback=OPTIONS[args.to],
                            wait=args.wait, timeout=args.timeout, hints=hints(args),
                            write=write_options(args),
                            own={**width_also(args), **{name: value for name, value in
                                                        format_options(args).items()
                                                        if value is not None}},
                            watch=functools.partial(progress, enabled=progress_wanted(args),
                                                       label=f"send {args.input}"))
    if (problem := refusal(settings.fallback, settings.write)) is not None:
        raise problem            # before a peer is kept waiting for it
    with open_image(args, args.input) as (source, fmt, sniffed):
        if args.dest == "-":
            if sys.stdout.isatty():
                raise EnvironmentProblem("refusing to write an image to a terminal")
            sent = send_to_pipe(source, sniffed, sys.stdout.fileno(), "<stdout>", settings)
        else:
            sock = connect(args.dest, args.timeout)
            try:
                sent = send_to_socket(source, sniffed, sock, args.dest, settings)
            finally:
                sock.close()
    how = (f"negotiated with {sent.peer_software}; stored by the receiver" if sent.negotiated
           else "no negotiation: the peer did not greet us" if args.dest != "-"
           else "no negotiation over a pipe")
    args.report.say(f"sent {args.input} ({fmt.name}) to {args.dest} as {sent.option.name}, "
                    f"{human.size(sent.size, exact=False)} ({how})")
    if args.json:
        print_json({"input": args.input, "input_format": fmt.name, "dest": args.dest,
                    "sent_as": sent.option.name, "size": sent.size,
                    "negotiated": sent.negotiated, "peer_software": sent.peer_software,
                    "messages": args.report.messages})
    return 0
