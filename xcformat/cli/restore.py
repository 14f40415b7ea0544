"""``xcformat restore IMAGE``: read an image without filling dom0's page cache and feed
``xl restore`` the stream this host's Xen reads, through a pipe."""

from __future__ import annotations

import io

from ..errors import XcFormatError
from ..negotiate.options import OPTIONS
from . import human
from .common import add_common_options, print_json
from .xl import PIPE, add_xl_option, find, real_path

#: xl restore reads the pipe in order, so an aligned variant gains nothing there; and a choice
#: that its writer refused mid-way could not be taken back from xl, as it can from a file.
IN_ORDER = {name: "xl restore reads the pipe in order: aligned pages gain nothing there"
            for name, option in OPTIONS.items() if option.align}


HELP = "restore a guest with xl, reading the image without filling the page cache"
DESCRIPTION = ("Read IMAGE (any image xcformat reads, - for standard input) with --io (by "
               "default direct I/O wherever the file system takes it), convert it on the "
               "fly into what this host's Xen restores, and feed that to 'xl restore' "
               "through a pipe.  What the host restores is --for, by default this host's "
               "release (from /sys/hypervisor, else 'xl info'): for Xen 4.6 and later, a v2 "
               "stream in an xl save file.  "
               "The guest runs on from where it was saved (-p: paused there).  A failed "
               "restore quotes xl, which leaves no guest behind.")


def add_arguments(parser) -> None:
    parser.add_argument("image", metavar="IMAGE", help="the image to restore (- for standard "
                                                        "input)")
    parser.add_argument("config", metavar="CONFIG", nargs="?",
                        help="an xl domain config file to use in place of the one stored in "
                             "the image (as xl restore's CONFIG)")
    parser.add_argument("-p", "--paused", action="store_true",
                        help="leave the restored guest paused (xl restore -p)")
    parser.add_argument("--for", dest="target", metavar="TARGET",
                        help="the Xen release whose xl restores it, such as xen-4.17 (default: "
                             "this host's, from /sys/hypervisor or 'xl info'; docs: compatibility)")
    parser.add_argument("--drop", default="", metavar="KIND,...",
                        help="record kinds this host's stream cannot carry that may be dropped "
                             "(each drop is reported)")
    add_xl_option(parser)
    add_common_options(parser, json_help="print a JSON summary of what was restored")
    parser.set_defaults(to=None)


def run(args) -> int:
    config = real_path(args.config, "CONFIG") if args.config else None
    xl = find(args.xl)
    args.target = args.target or xl.host_release()
    args.wrap = "xl"                   # xl restore reads nothing but xl save files
    options = ["-p"] if args.paused else []
    with xl.piped("restore", *options, *([config] if config else []), PIPE,
                  xl_writes=False) as restoring:
        from .convert import convert   # the conversion's code loads while xl starts up
        stream = io.FileIO(restoring.fd, "wb", closefd=False)
        stream.name = restoring.command
        try:
            source_format, target_format, size = convert(args, args.image, stream,
                                                         refused=IN_ORDER)
            restoring.succeeded()
        except (XcFormatError, KeyboardInterrupt) as exc:
            raise restoring.blame(exc, args.report.say) from None
    state = "paused (-p)" if args.paused else "running"
    args.report.say(f"restored {args.image} ({source_format}, fed to xl as {target_format}, "
                    f"{human.size(size, exact=False)}); the guest is {state}")
    if args.json:
        print_json({"image": args.image, "input_format": source_format, "fed_as": target_format,
                    "size": size, "target": args.target, "paused": args.paused,
                    "messages": args.report.messages})
    return 0
