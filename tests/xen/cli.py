"""tools/xenvm: run the real Xen in QEMU by hand, or its test suite, or remake its fixtures."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from . import components, fixtures, vm
from .components import CACHE, ROOT, Unavailable


def _fetch(_args) -> int:
    parts = components.ensure()
    from . import images
    print(f"xen:     {parts.xen}\nkernel:  {parts.kernel}\ndom0:    {images.dom0_initramfs(parts)}\n"
          f"guest:   {images.guest_initrd(parts)}")
    for package, version in parts.versions.items():
        print(f"{package} {version}")
    return 0


def _run(args) -> int:
    job = Path(args.job) if args.job else Path(tempfile.mkdtemp(prefix="job-", dir=_jobs()))
    inputs = dict(_pair(item) for item in args.input)
    script = Path(args.script).read_text() if args.script != "-" else sys.stdin.read()
    result = vm.run(script, job, inputs=inputs, timeout=args.timeout, memory_mib=args.memory,
                    dom0_mib=args.dom0_memory, disks=[Path(d) for d in args.disk], cpu=args.cpu)
    print(f"job {job}: rc={result.rc} timed_out={result.timed_out} {result.seconds:.0f} s")
    for name, (rc, seconds) in result.steps.items():
        print(f"  step {name}: rc={rc} {seconds:.1f} s")
    if result.rc != 0:
        print(result.tail(), file=sys.stderr)
    return 0 if result.rc == 0 else 1


def _pair(item: str) -> tuple[str, Path]:
    name, sep, path = item.partition("=")
    if not sep or not name or "/" in name:
        raise SystemExit(f"xenvm: --in wants NAME=PATH, not {item!r}")
    return name, Path(path)


def _jobs() -> Path:
    (CACHE / "jobs").mkdir(parents=True, exist_ok=True)
    return CACHE / "jobs"


def _test(args) -> int:
    os.environ["XCFORMAT_XENVM"] = "1"
    import pytest
    return pytest.main(["-m", "xen_vm", str(ROOT / "tests" / "xen"), *args.pytest_args])


def _fixtures(args) -> int:
    earlier = Path(args.from_job) if args.from_job else None
    return fixtures.remake(Path(tempfile.mkdtemp(prefix="fixtures-", dir=_jobs())), earlier)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="xenvm", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("fetch", help="download and build the VM's pieces into the cache")
    run = commands.add_parser("run", help="boot, run a dom0 shell script (sh -e, with the helpers"
                                          " of tests/xen/lib.sh), power off")
    run.add_argument("script", help="the script (- for standard input)")
    run.add_argument("--job", help="job directory (default: a new one under the cache)")
    run.add_argument("--in", dest="input", action="append", default=[], metavar="NAME=PATH",
                     help="a file for the script, seen in dom0 as in/NAME")
    run.add_argument("--disk", action="append", default=[], help="a raw image, /dev/vdX in dom0")
    run.add_argument("--timeout", type=float, default=900, help="seconds before QEMU is killed")
    run.add_argument("--memory", type=int, default=2048, help="the machine's memory, MiB")
    run.add_argument("--cpu", default=vm.CPU, help="QEMU's CPU model (default %(default)s)")
    run.add_argument("--dom0-memory", type=int, default=1024, help="dom0's memory, MiB")
    test = commands.add_parser("test", help="run the real-Xen tests (pytest -m xen_vm)")
    test.add_argument("pytest_args", nargs=argparse.REMAINDER)
    remake = commands.add_parser("fixtures", help="remake tests/fixtures/real from a fresh boot")
    remake.add_argument("--from-job", help="pack the files of this earlier boot-1 job directory")
    args = parser.parse_args(argv)
    handler = {"fetch": _fetch, "run": _run, "test": _test, "fixtures": _fixtures}[args.command]
    try:
        return handler(args)
    except Unavailable as why:
        print(f"xenvm: {why}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
