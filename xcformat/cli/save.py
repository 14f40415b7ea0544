"""``xcformat save DOMAIN IMAGE``: ``xl save`` through a pipe into an image written without
filling dom0's page cache.

xl always saves with ``-p``, so that the guest is still there, paused, when the image turns out
not to be written (a full disk, a failed check): xl itself destroys a guest once its stream is
out (tools/xl/xl_saverestore.c, save_domain), before anyone could know whether the file holding
it is whole.  Only when IMAGE is published does the guest go the way the operator asked:
destroyed (the default, as ``xl save``), left paused (``-p``), or running on (``-c``).
"""

from __future__ import annotations

import io

from .. import formats
from ..errors import XcFormatError
from . import human
from .common import add_align_option, add_common_options, add_wrap_option, print_json
from .xl import PIPE, XlFailed, add_domain_argument, add_xl_option, find, real_path

#: What is done with the guest once IMAGE is published: the xl command, what it leaves (for
#: ``--json``), and how the message says it.
AFTERWARDS = {
    "destroy": (("destroy",), "destroyed", "destroyed, as xl save does"),
    "pause": ((), "paused", "paused in the saved state"),
    "checkpoint": (("unpause",), "running", "running on"),
}


HELP = "save a guest with xl, writing the image without filling the page cache"
DESCRIPTION = ("Run 'xl save' into a pipe and write IMAGE from it with --io (by default "
               "direct I/O wherever the file system takes it), so that saving a guest "
               "larger than dom0's free memory does not fill dom0's page cache.  IMAGE "
               "appears only once it is whole, read back by xcformat and approved by xl's "
               "exit status.  The guest is then destroyed, as 'xl save' does; -p leaves "
               "it paused, -c lets it run on.  When the save fails, nothing is left at "
               "IMAGE and the guest runs on (xl resumes it; the message says how it was "
               "left).  'xcformat restore IMAGE' brings it back.")


def add_arguments(parser) -> None:
    add_domain_argument(parser, "IMAGE",
                        "file to write (a path: the guest's fate waits on it being whole)")
    parser.add_argument("config", metavar="CONFIG", nargs="?",
                        help="an xl domain config file to store in the image in place of the "
                             "guest's own (as xl save's CONFIG)")
    after = parser.add_mutually_exclusive_group()
    after.add_argument("-p", "--pause", dest="afterwards", action="store_const", const="pause",
                       default="destroy", help="leave the guest paused once saved")
    after.add_argument("-c", "--checkpoint", dest="afterwards", action="store_const",
                       const="checkpoint", help="let the guest run on once saved")
    writers = [name for name, fmt in formats.registry().items() if fmt.writer is not None]
    parser.add_argument("--to", default="aligned", choices=writers, metavar="FORMAT",
                        help="format of IMAGE: " + ", ".join(writers) + " (default aligned: "
                             "every page on a 4 KiB boundary, written and read back with "
                             "direct I/O; 'xcformat restore' turns it into what xl restore reads)")
    add_wrap_option(parser, "add a file wrapper (--to v2 --wrap xl: a file plain 'xl restore' "
                            "reads)")
    add_align_option(parser)
    add_xl_option(parser)
    add_common_options(parser, json_help="print a JSON summary of what was saved")
    parser.set_defaults(target=None, drop="")


def run(args) -> int:
    image = real_path(args.image, "IMAGE")
    config = real_path(args.config, "CONFIG") if args.config else None
    source_format, target_format, size, guest = save(args, image, config)
    if args.json:
        print_json({"domain": args.domain, "image": image, "input_format": source_format,
                    "format": target_format, "size": size, "guest": guest,
                    "messages": args.report.messages})
    return 0


def save(args, image: str, config: str | None = None, *, verb: str = "saved",
         new_file_mode: int = 0o666) -> tuple[str, str, int, str]:
    """Save ``args.domain`` into ``image`` as ``args`` say (``--to``, ``--io``, what becomes
    of the guest: ``args.afterwards``); (source format, format written, bytes, the guest's
    state in a word).  A new ``image`` gets the permissions ``new_file_mode``."""
    xl = find(args.xl)
    args.image = image
    with xl.piped("save", "-p", args.domain, PIPE, *([config] if config else []),
                  xl_writes=True) as saving:
        from .convert import convert   # the conversion's code loads while xl starts the save
        stream = io.FileIO(saving.fd, "rb", closefd=False)
        stream.name = f"xl save {args.domain}"
        try:
            source_format, target_format, size = convert(
                args, stream, image, confirm=saving.succeeded, new_file_mode=new_file_mode)
        except (XcFormatError, KeyboardInterrupt) as exc:
            raise _failed(args, xl, saving, exc) from None
    command, guest, left = AFTERWARDS[args.afterwards]
    if command:
        try:
            xl.run(*command, args.domain)
        except XlFailed as exc:
            raise XlFailed(f"{image} is written and whole, but {exc}") from None
    args.report.say(f"{verb} {args.domain} to {image} ({target_format}, "
                    f"{human.size(size, exact=False)}); the guest is {left}")
    return source_format, target_format, size, guest


def _failed(args, xl, saving, exc: BaseException) -> BaseException:
    """The error to show for a save that failed with ``exc``, the guest set running again.

    xl resumes the guest when its save fails; when xl was done and xcformat failed, the guest
    is still paused by ``-p`` and is unpaused here, so that either way it runs on."""
    cause = saving.blame(exc, args.report.say)
    if saving.failure() is None and xl.state(args.domain) == "paused":
        try:
            xl.run("unpause", args.domain)
        except XlFailed as unpausing:
            args.report.say(str(unpausing))
    args.report.say(f"nothing written at {args.image}; the guest {args.domain} is "
                    f"{xl.state(args.domain)}")
    return cause
