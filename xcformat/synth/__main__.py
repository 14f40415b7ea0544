"""``python -m xcformat.synth OUT [options]``: write a synthetic legacy image and say how fast.

For benchmarks and manual tests, e.g. a 1 GiB 64-bit PV guest::

    python -m xcformat.synth /tmp/guest.img --size 1G --xsave --vcpus 2
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from .expected import expected
from .sample import SAMPLE
from .spec import GuestSpec
from .variants import VARIANTS
from .writer import write_legacy

_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def _size(text: str) -> int:
    scale = _UNITS.get(text[-1:].upper(), 1)
    number = text[:-1] if scale > 1 else text
    try:
        return int(float(number) * scale)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 512M, 1G)") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xcformat.synth", description=__doc__.split(
        "\n")[0].strip("`"))
    parser.add_argument("out", help="file to write (- for stdout)")
    parser.add_argument("--variant", default="4.5", choices=sorted(VARIANTS))
    parser.add_argument("--guest", default="pv", choices=("pv", "hvm"))
    parser.add_argument("--width", type=int, default=64, choices=(32, 64),
                        help="toolstack width in bits")
    parser.add_argument("--guest-width", type=int, choices=(32, 64), help="PV guest width")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--pages", type=int, default=1000, help="pages of guest memory")
    size.add_argument("--size", type=_size, help="guest memory (K/M/G suffix); sets --pages")
    parser.add_argument("--p2m-size", type=lambda t: int(t, 0))
    parser.add_argument("--vcpus", type=int, default=1)
    parser.add_argument("--xsave", action="store_true")
    parser.add_argument("--wrapper", choices=("xl", "xend"))
    parser.add_argument("--special-pages", action="store_true")
    parser.add_argument("--tmem", action="store_true")
    parser.add_argument("--live", action="store_true", help="a live migration's layout")
    parser.add_argument("--verify", action="store_true", help="the debug flag's -1 re-send")
    parser.add_argument("--compression", action="store_true",
                        help="remus: compress checkpoints after the first (-13, -12)")
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--checkpoints", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sample", action="store_true",
                        help="write the demo's sample image (ignores the guest options)")
    args = parser.parse_args(argv)
    pages = args.size // 4096 if args.size else args.pages
    try:
        spec = SAMPLE if args.sample else GuestSpec(
            guest=args.guest, toolstack_bits=args.width, guest_bits=args.guest_width,
            variant=args.variant, pages=pages, p2m_size=args.p2m_size, vcpus=args.vcpus,
            xsave=args.xsave, wrapper=args.wrapper, special_pages=args.special_pages,
            tmem=args.tmem, batch=args.batch, checkpoints=args.checkpoints, seed=args.seed,
            live=args.live, verify=args.verify, compression=args.compression)
    except ValueError as error:
        parser.error(str(error))
    start = time.perf_counter()
    try:
        written = write_legacy(spec, sys.stdout.buffer if args.out == "-" else args.out)
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as other Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print("python -m xcformat.synth: output closed early", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"python -m xcformat.synth: {args.out}: {error.strerror}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - start
    e = expected(spec)
    report = {"path": args.out, "bytes": written, "seconds": round(seconds, 3),
              "MB_per_s": round(written / seconds / 1e6, 1), "variant": spec.variant,
              "guest": spec.guest, "toolstack_bits": spec.toolstack_bits,
              "guest_bits": spec.guest_bits, "wrapper": spec.wrapper, "p2m_size": spec.p2m_size,
              "pages": e.pages, "vcpus": len(e.vcpus), "min_xen_version": e.min_xen_version}
    print(json.dumps(report), file=sys.stderr if args.out == "-" else sys.stdout)
    return 0 if written == e.size else 1


if __name__ == "__main__":
    sys.exit(main())
