"""``xcformat dump DOMAIN CORE``: a guest's memory as a core file written without filling
dom0's page cache.

By default (``--via save``) the guest is saved (``xl save -p`` through a pipe, as ``xcformat
save`` does), the stream written as a core dump with --io, and the guest let run on: xl's save
moves whole batches of pages, where ``xl dump-core`` maps and copies them one at a time
(tools/libs/guest/xg_core.c), which makes it several times slower.  A save needs a guest that
can suspend, so a crashed one takes ``--via dump-core``: xl writes its dump front to back
(xg_core.c, local_file_dump) and its bytes are copied as they come into CORE.  A core dump cannot
be read as it streams (its pfn table follows the pages), so either way the check that keeps a
bad CORE from appearing reads the finished file back, as ``xcformat validate`` does.
"""

from __future__ import annotations

from ..errors import EnvironmentProblem, XcFormatError
from ..io import Source, open_sink
from ..selfcheck import confirmed_first, output_check
from . import human
from .common import add_common_options, hints, print_json
from .save import save
from .xl import PIPE, add_domain_argument, add_xl_option, find

#: Bytes taken from the pipe at a time.
PIECE = 1 << 20
#: A dump holds the guest's memory: readable by its owner only, as xl makes it (xg_core.c opens
#: it with S_IWUSR|S_IRUSR).
OWNER_ONLY = 0o600


HELP = "dump a guest's memory through xl, without filling the page cache"
DESCRIPTION = ("Write a core dump of the guest into CORE with --io (by default direct "
               "I/O wherever the file system takes it), so that dumping a guest larger "
               "than dom0's free memory does not fill dom0's page cache.  CORE appears "
               "only once xl succeeded and xcformat read it back as a valid core dump.  "
               "--via save (the default) saves the guest through a pipe with 'xl save -p', "
               "writes the stream as a core dump and lets the guest run on: one instant of "
               "it, faster than xl dump-core, but the guest must be able to suspend.  "
               "--via dump-core copies 'xl dump-core' byte for byte: for a crashed guest "
               "(kept by on_crash=\"preserve\"); like xl dump-core it does not pause the "
               "guest, so 'xl pause' a running one first for a dump of one instant.")


def add_arguments(parser) -> None:
    add_domain_argument(parser, "CORE", "the core file to write (a path)")
    parser.add_argument("--via", choices=("save", "dump-core"), default="save",
                        help="how xl reads the guest's memory: save (the default: a consistent "
                             "instant, the guest runs on) or dump-core (also for a crashed "
                             "guest, which cannot be saved)")
    add_xl_option(parser)
    add_common_options(parser, json_help="print a JSON summary of what was dumped")
    parser.set_defaults(to="core", target=None, drop="", afterwards="checkpoint")


def run(args) -> int:
    if args.core == "-":
        raise EnvironmentProblem("CORE: a core dump is checked by reading it back from the "
                                 "file, so it must name a file, not -")
    if args.via == "save":
        size = save(args, args.core, verb="dumped", new_file_mode=OWNER_ONLY)[2]
    else:
        size = _copy_dump_core(args)
    if args.json:
        print_json({"domain": args.domain, "core": args.core, "via": args.via, "size": size,
                    "messages": args.report.messages})
    return 0


def _copy_dump_core(args) -> int:
    """``xl dump-core`` into CORE, byte for byte; the bytes written."""
    xl = find(args.xl)
    what = f"xl dump-core {args.domain}"
    with xl.piped("dump-core", args.domain, PIPE, xl_writes=True, expendable=True) as dumping:
        check = confirmed_first(dumping.succeeded, output_check(
            "core", args.core, what, lambda: hints(args), args.io))
        source = Source(dumping.fd, what, close=False)
        try:
            with open_sink(args.core, args.io, check=check, new_file_mode=OWNER_ONLY) as sink:
                while piece := source.read_upto(PIECE):
                    sink.write(piece)
                size = sink.offset
        except (XcFormatError, KeyboardInterrupt) as exc:
            cause = dumping.blame(exc, args.report.say)
            args.report.say(f"nothing written at {args.core}")
            raise cause from None
        finally:
            source.close()
    args.report.say(f"dumped {args.domain} to {args.core} (core, {human.size(size, exact=False)},"
                    f" xl dump-core's bytes); the guest is {xl.state(args.domain)}")
    return size
