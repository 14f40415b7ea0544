"""``tools/bench xen``: plain ``xl`` save, restore and dump beside xcformat's paths, on the real
Xen in QEMU, with a guest larger than dom0's free memory.

One boot: the saves and restores run in ``--rounds`` rounds, each with plain xl's, and the
verdict takes each path's median ratio to plain xl.  dom0 gets ``--dom0-memory`` MiB, the PV
guest ``--guest-memory``; an ext4 file system on a virtio disk holds the files.  Before each step dom0 writes back and drops its page cache; during
it :mod:`tests.xen.dom0_watch` samples ``/proc/meminfo`` every quarter second and keeps touching
its own 32 MiB working set.  The report (:mod:`tests.xen.benchreport`) gives per step the wall time
and its ratio to the plain ``xl`` step of its kind, the page cache's growth, the files' own
residency, the dirty peak, what the probe felt, each process's CPU, and whether the guest ran on.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from . import benchpaths, benchreport, components, vm
from .benchpaths import DISK, GUEST, MOUNT, Measured
from .components import CACHE, ROOT, Unavailable

WATCH = ROOT / "tests" / "xen" / "dom0_watch.py"
PYTHON = ROOT / ".venv" / "bin" / "python"
SEED = "5eed0b01"
PROBE_MIB = 32
DOCS = ROOT / "docs" / "bench" / "xen.inc"
#: What xcformat's start-up reads, copied onto the virtio disk and mounted over the 9p originals
#: in dom0, as a real host has them on a local disk: read over 9p, its thousands of stats and
#: opens took a minute under TCG (``python -c pass`` alone 13 s).
STAGED = (Path(sysconfig.get_paths()["stdlib"]), ROOT / ".venv", ROOT / "xcformat")
#: Parts of the standard library no command imports.
UNSTAGED = ("site-packages", "test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3",
            "config-")


def _step_lines(step: Measured, profile: bool) -> list[str]:
    program = (f"{PYTHON} -m cProfile -o out/prof-{step.name}.pstats -m xcformat" if profile
               else "$XCFORMAT")
    command = (step.command.replace("{xcformat}", program).replace("{step}", step.name)
               .replace("{file}", f"{DISK}/{step.restores}"))
    lines = [
        f"# {step.name}",
        "sync; echo 3 >/proc/sys/vm/drop_caches; sleep 3",
        f"echo \"{step.name} $(console_size {GUEST})\" >>out/marks",
        f"step {step.name} {f'timeout {step.limit} ' if step.limit else ''}bash -o pipefail -c "
        f"{shlex.quote(command)}",
        f"echo \"{step.name} $(last_tick {GUEST})\" >>out/ticks",
    ]
    if step.output:
        lines.append(f"stat -c '{step.name} %s' {DISK}/{step.output} >>out/sizes || true")
    if step.then:
        lines.append(f"{step.then} || true")
    if step.guest_after == "restored":
        lines.append(f"[ \"$step_rc\" != 0 ] || console_wait {GUEST} 'pattern (ok|BAD)' 180 "
                     f"\"$(grep '^{step.name} ' out/marks | cut -d' ' -f2)\" || true")
        lines.append(f"rm -f {DISK}/{step.restores}")
    elif step.output and step.guest_after != "gone":
        lines.append(f"rm -f {DISK}/{step.output}")
    return lines


def script(steps: list[Measured], guest_mib: int, profile: bool = False) -> str:
    """The dom0 job: mount the disk, start the watcher, start the guest, run the steps."""
    lines = [f"mkdir -p {MOUNT} && mount -t ext4 /dev/vda {MOUNT} && mkdir -p {DISK}"]
    lines += [f"mount --bind {MOUNT}/stage{path} {path}" for path in STAGED]
    lines += [
        f"mkdir -p {MOUNT}/probe && dd if=/dev/urandom of={MOUNT}/probe/working-set bs=1M "
        f"count={PROBE_MIB} status=none",
        "{ nproc; xl info | grep -E '^(xen_version|nr_cpus|total_memory|free_memory)';"
        " xl vcpu-list Domain-0; uname -r; grep -E '^(MemTotal|MemFree|Cached)' /proc/meminfo;"
        " } >out/facts 2>&1",
        f"{PYTHON} {WATCH} out/samples {MOUNT}/probe/working-set {DISK} 0.25 &",
        "watcher=$!",
        "until [ -s out/samples ] || ! kill -0 $watcher; do sleep 1; done",
        f"cfg=$(guest_config {GUEST} {guest_mib} 1024 {SEED})",
        "step create xl create \"$cfg\"",
        f"console_wait {GUEST} 'pattern ok 5 ' 900",
        "grep -E '^(MemFree|Cached)' /proc/meminfo >out/meminfo-before",
    ]
    for step in steps:
        lines += _step_lines(step, profile)
    lines += ["kill $watcher || true", f"xl destroy {GUEST} 2>/dev/null || true"]
    lines += [f"umount {path}" for path in STAGED] + [f"umount {MOUNT}"]
    return "\n".join(lines) + "\n"


def _stage(directory: Path) -> None:
    """Hard-linked copies of :data:`STAGED` under ``directory``, at their absolute paths.

    The venv's xcformat is installed as a regular package would be: the checkout on sys.path.
    setuptools' editable finder, which the development install has, imports pathlib and
    urllib at every start; a host's pip-installed xcformat has no such cost.  The checkout is
    byte-compiled first: a stale cache staged would be compiled again in dom0."""
    vm.byte_compile()
    for path in STAGED:
        target = directory / path.relative_to("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cp", "-al", str(path), str(target)], check=True)
    for unused in (directory / STAGED[0].relative_to("/")).iterdir():
        if unused.name.startswith(UNSTAGED):
            shutil.rmtree(unused) if unused.is_dir() else unused.unlink()
    site = directory / Path(sysconfig.get_paths(vars={"base": str(ROOT / ".venv")})["purelib"]
                            ).relative_to("/")
    for editable in site.glob("__editable__*xcformat*"):
        editable.unlink()                 # a hard link: the checkout's own venv keeps its file
    (site / "xcformat-checkout.pth").write_text(f"{ROOT}\n")


def make_disk(path: Path, gib: int) -> None:
    """A sparse raw image with an ext4 file system holding ``stage/`` (see :data:`STAGED`)."""
    with open(path, "wb") as disk:
        disk.truncate(gib << 30)
    with tempfile.TemporaryDirectory(dir=path.parent) as root:
        _stage(Path(root) / "stage")
        # Inode tables and journal made now, so no lazy-init thread writes during the steps.
        subprocess.run(["mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0",
                        "-d", root, str(path)], check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/bench xen", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--guest-memory", type=int, default=768, help="the guest's MiB (768)")
    parser.add_argument("--dom0-memory", type=int, default=512, help="dom0's MiB (512)")
    parser.add_argument("--to", default="aligned", help="the save path's --to (aligned)")
    parser.add_argument("--io", default="direct", help="the xcformat paths' --io (direct)")
    parser.add_argument("--also-to", action="append", default=[], metavar="TARGET",
                        help="also measure the save and restore pipelines with this --to")
    parser.add_argument("--rounds", type=int, default=3,
                        help="how many times the saves and restores run, plain xl's in every "
                             "round (3): the verdict takes each path's median ratio")
    parser.add_argument("--probes", action="store_true",
                        help="also the steps that show where a save's time goes: xl into a pipe, "
                             "into dd writing O_DIRECT, and the conversion into a pipe")
    parser.add_argument("--dump-limit", type=int, default=300,
                        help="seconds after which plain xl dump-core is stopped (300): it maps "
                             "one page at a time and takes many minutes under TCG")
    parser.add_argument("--profile", action="store_true",
                        help="run every xcformat command under cProfile (out/prof-STEP.pstats in "
                             "the job directory); its times are then not the plain ones")
    parser.add_argument("--job", help="job directory (default: a new one under the cache)")
    parser.add_argument("--from-job", help="report on this earlier job instead of booting")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds before QEMU is killed")
    parser.add_argument("--write-docs", action="store_true",
                        help=f"also write the table to {DOCS.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be 1 or more")
    steps = benchpaths.paths(args.to, args.io, probes=args.probes, also_to=tuple(args.also_to),
                             dump_limit=args.dump_limit, rounds=args.rounds)
    load_before = os.getloadavg()
    if args.from_job:
        job = Path(args.from_job)
        result = vm.Result.load(job)
    else:
        job = Path(args.job) if args.job else Path(tempfile.mkdtemp(prefix="bench-", dir=_jobs()))
        job.mkdir(parents=True, exist_ok=True)
        disk = job / "disk.img"
        make_disk(disk, max(4, 3 * args.guest_memory // 1024 + 2))
        (job / "load-before").write_text(" ".join(f"{x:.2f}" for x in load_before) + "\n")
        print(f"bench: booting, job {job}", file=sys.stderr)
        try:
            result = vm.run(script(steps, args.guest_memory, args.profile), job, timeout=args.timeout,
                            memory_mib=args.dom0_memory + args.guest_memory + 512,
                            dom0_mib=args.dom0_memory, disks=[disk])
        except Unavailable as why:
            print(f"bench: the real-Xen VM cannot run here: {why}", file=sys.stderr)
            return 2
        finally:
            disk.unlink(missing_ok=True)
        (job / "load-after").write_text(" ".join(f"{x:.2f}" for x in os.getloadavg()) + "\n")
        (job / "seconds").write_text(f"{result.seconds:.0f}\n")
        (job / "versions").write_text("".join(f"{package} {version}\n" for package, version
                                              in components.ensure().versions.items()))
        if result.rc != 0:
            print(result.tail(), file=sys.stderr)
    report = benchreport.Report.load(job, steps, args.guest_memory, args.dom0_memory)
    print(report.markdown())
    if args.write_docs:
        command = "tools/bench xen " + shlex.join(_measuring(argv if argv is not None
                                                            else sys.argv[1:]))
        DOCS.parent.mkdir(parents=True, exist_ok=True)
        DOCS.write_text(report.rst(command.strip()))
        print(f"bench: wrote {DOCS.relative_to(ROOT)}", file=sys.stderr)
    return 0 if result.rc == 0 and report.complete else 1


def _measuring(argv: list[str]) -> list[str]:
    """``argv`` without the options that say where results go (what the docs show)."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("--from-job", "--job"):
            skip = True
        elif arg != "--write-docs" and not arg.startswith(("--from-job=", "--job=")):
            kept.append(arg)
    return kept


def _jobs() -> Path:
    (CACHE / "jobs").mkdir(parents=True, exist_ok=True)
    return CACHE / "jobs"


if __name__ == "__main__":
    sys.exit(main())
