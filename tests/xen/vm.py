"""Boot Xen with dom0 in QEMU, run one job script in dom0, and hand back what it left.

A job is a directory shared read-write with dom0 at /tmp/xenvm: the harness writes the script
(``run.sh``), its helpers and any input files there; the script writes its outputs under
``out/``; the guest consoles, the session log and the exit status land there too.  dom0 runs
inside the host's own root file system (shared read-only), so xl, python3 and this project's
virtual environment are the host's exact files.
"""

from __future__ import annotations

import compileall
import os
import shlex
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import components, images
from .components import ROOT, Components, Unavailable

HERE = Path(__file__).resolve().parent
# TCG only: nested KVM stops at Xen's early CET probe, and "-cpu max" or "EPYC" crash dom0.
CPU = "Westmere"
#: The host directories dom0 mounts a tmpfs of its own over (dom0-init.sh's scratch directories):
#: in dom0, nothing beneath them is the host's.
DOM0_SCRATCH = (Path("/run"), Path("/tmp"), Path("/var/lib"), Path("/var/log"))


def hidden_from_dom0(path: Path) -> Path | None:
    """The scratch directory that hides ``path`` from dom0, or None when dom0 sees it."""
    resolved = path.resolve()
    return next((d for d in DOM0_SCRATCH if resolved.is_relative_to(d)), None)


def byte_compile() -> None:
    """Byte-compile the package: dom0 sees it read-only, and would compile it anew every run."""
    compileall.compile_dir(ROOT / "xcformat", quiet=2)


@dataclass
class Result:
    job: Path
    rc: int | None  # the script's exit status; None when the session never finished
    seconds: float
    timed_out: bool
    steps: dict[str, tuple[int, float]] = field(default_factory=dict)  # name -> (rc, seconds)

    @classmethod
    def load(cls, job: Path) -> "Result":
        """The result a finished job directory holds."""
        rc = job / "rc"
        return cls(job, int(rc.read_text()) if rc.exists() else None, 0.0, False, _steps(job))

    @property
    def out(self) -> Path:
        return self.job / "out"

    def console(self, guest: str) -> str:
        path = self.job / "console" / f"guest-{guest}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def log(self, name: str) -> str:
        path = self.job / name
        return path.read_text(errors="replace") if path.exists() else ""

    def tail(self, lines: int = 40) -> str:
        """The end of the session log and the serial console, for failure messages."""
        parts = []
        for name in ("session.log", "serial.log"):
            text = self.log(name).splitlines()[-lines:]
            parts.append(f"--- {name} ---\n" + "\n".join(text))
        return "\n".join(parts)


def _steps(job: Path) -> dict[str, tuple[int, float]]:
    steps = {}
    path = job / "steps"
    for line in path.read_text().splitlines() if path.exists() else []:
        name, rc, start, end = line.split()
        steps[name] = (int(rc), float(end) - float(start))
    return steps


def prepare_job(job: Path, script: str, parts: Components, inputs: dict[str, Path] | None = None,
                environment: dict[str, str] | None = None) -> None:
    """Fill ``job`` with the session files, the script and hard links (or copies) of inputs."""
    job.mkdir(parents=True, exist_ok=True)
    for name in ("session.sh", "lib.sh"):
        shutil.copyfile(HERE / name, job / name)
    (job / "run.sh").write_text(script)
    (job / "in").mkdir(exist_ok=True)
    for name, source in (inputs or {}).items():
        target = job / "in" / name
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
    settings = {
        "GUEST_KERNEL": str(parts.kernel),
        "GUEST_RAMDISK": str(images.guest_initrd(parts)),
        "XCFORMAT": str(ROOT / ".venv" / "bin" / "xcformat"),
        **(environment or {}),
    }
    (job / "env.sh").write_text("".join(f"export {k}={shlex.quote(v)}\n" for k, v in settings.items()))


def qemu_command(parts: Components, job: Path, memory_mib: int, dom0_mib: int,
                 disks: list[Path], cpu: str = CPU) -> list[str]:
    xen_args = f"dom0_mem={dom0_mib}M,max:{dom0_mib}M console=com1 com1=115200,8n1 loglvl=all guest_loglvl=all"
    dom0_args = "console=hvc0 loglevel=4 rdinit=/init"
    command = [
        "qemu-system-x86_64", "-accel", "tcg,thread=multi", "-cpu", cpu,
        "-m", str(memory_mib), "-smp", "2", "-nodefaults", "-no-reboot", "-display", "none",
        "-serial", f"file:{job / 'serial.log'}",
        "-kernel", str(parts.xen), "-append", xen_args,
        "-initrd", f"{parts.kernel} {dom0_args},{images.dom0_initramfs(parts)}",
        "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap,id=hostroot",
        "-virtfs", f"local,path={job},mount_tag=job,security_model=none,id=job",
    ]
    for number, disk in enumerate(disks):
        command += ["-drive", f"file={disk},format=raw,if=virtio,cache=none,id=disk{number}"]
    return command


def run(script: str, job: Path, *, inputs: dict[str, Path] | None = None, timeout: float = 600,
        memory_mib: int = 2048, dom0_mib: int = 1024, disks: list[Path] | None = None,
        environment: dict[str, str] | None = None, cpu: str = CPU) -> Result:
    """Boot, run ``script`` in dom0 (sh -e, with lib.sh's helpers), power off; never hangs:
    QEMU is killed after ``timeout`` seconds.  Raises Unavailable when QEMU cannot start."""
    hiding = hidden_from_dom0(ROOT)
    if hiding is not None:
        raise Unavailable(f"the checkout {ROOT} is under {hiding}, over which dom0 mounts a "
                          "tmpfs of its own: dom0 cannot run xcformat from it; clone it elsewhere")
    parts = components.ensure()
    byte_compile()
    prepare_job(job, script, parts, inputs, environment)
    command = qemu_command(parts, job, memory_mib, dom0_mib, disks or [], cpu)
    (job / "qemu.cmd").write_text(shlex.join(command) + "\n")
    start = time.monotonic()
    with open(job / "qemu.log", "wb") as log:
        try:
            qemu = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        except OSError as error:
            raise Unavailable(f"cannot start QEMU: {error}") from None
        timed_out = False
        try:
            qemu.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(qemu.pid, signal.SIGKILL)
            qemu.wait()
    seconds = time.monotonic() - start
    if not timed_out and qemu.returncode != 0 and not (job / "serial.log").stat().st_size:
        raise Unavailable(f"QEMU exited with {qemu.returncode}: {(job / 'qemu.log').read_text()[-400:]}")
    result = Result.load(job)
    result.seconds, result.timed_out = seconds, timed_out
    return result

