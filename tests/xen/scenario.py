"""The real-Xen scenario in two boots.

Boot 1 starts the counting guest, saves it with ``xl save -p`` (the domain stays paused in the
saved state), dumps that same state with ``xl dump-core``, lets it run on, then restores the
original save.  On the host, xcformat converts the save into every output a Xen 4.6+ host
should take.  Boot 2 restores each output in turn, watches the guest count on with its pattern
intact, and destroys it.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .components import ROOT

GUEST = "xcguest"
GUEST_MEMORY_MIB = 96  # Debian's kernel needs 58 MiB of it just to be loaded
PATTERN_PAGES = 1024
SEED = "5eed0001"
XCFORMAT = ROOT / ".venv" / "bin" / "xcformat"



@dataclass(frozen=True)
class Output:
    """A file for ``xl restore``: converted on the host along ``steps`` (source, name, options),
    the last of which is the output, or streamed in dom0 through a pipe (``piped``)."""

    name: str
    steps: tuple[tuple[str, str, tuple[str, ...]], ...]
    piped: bool = False
    defect: str | None = None  # a known writer defect that makes this output fail today


def _from(source: str, name: str, *options: str) -> tuple[str, str, tuple[str, ...]]:
    return (source, name, options)


LEGACY = _from("save", "legacy", "--to", "legacy", "--drop", "cpu-policy")
V2 = _from("save", "v2", "--to", "v2")
ALIGNED = _from("save", "aligned", "--to", "aligned")
FOR_46 = ("--to", "auto", "--for", "xen-4.6+", "--drop", "cpu-policy")
FOR_414 = ("--to", "auto", "--for", "xen-4.14+")

OUTPUTS = (
    Output("v2-xl", (_from("save", "v2-xl", "--to", "v2", "--wrap", "xl"),)),
    Output("v2-align-xl", (_from("save", "v2-align-xl", "--to", "v2", "--align", "--wrap", "xl"),)),
    Output("legacy-xl", (_from("save", "legacy-xl", "--to", "legacy", "--wrap", "xl",
                               "--drop", "cpu-policy"),)),
    Output("legacy-align-xl", (_from("save", "legacy-align-xl", "--to", "legacy", "--align",
                                     "--wrap", "xl", "--drop", "cpu-policy"),)),
    Output("aligned-v2-xl", (ALIGNED, _from("aligned", "aligned-v2-xl", "--to", "v2", "--wrap", "xl"))),
    Output("aligned-v2-pipe", (ALIGNED,), piped=True),
    Output("for-4.6-from-legacy", (LEGACY, _from("legacy", "for-4.6-from-legacy", *FOR_46))),
    Output("for-4.6-from-v2", (V2, _from("v2", "for-4.6-from-v2", *FOR_46))),
    Output("for-4.6-from-aligned", (ALIGNED, _from("aligned", "for-4.6-from-aligned", *FOR_46))),
    Output("for-4.14-from-legacy", (LEGACY, _from("legacy", "for-4.14-from-legacy", *FOR_414))),
    Output("for-4.14-from-v2", (V2, _from("v2", "for-4.14-from-v2", *FOR_414))),
    Output("for-4.14-from-aligned", (ALIGNED, _from("aligned", "for-4.14-from-aligned", *FOR_414))),
)


# Every writer, as the tests without a restore run them on a real save.
CONVERSIONS = {
    "v2": ("--to", "v2"),
    "v2-align": ("--to", "v2", "--align"),
    "v2-xl": ("--to", "v2", "--wrap", "xl"),
    "aligned": ("--to", "aligned"),
    "core": ("--to", "core"),
    "legacy": ("--to", "legacy", "--drop", "cpu-policy"),
    "legacy-align": ("--to", "legacy", "--align", "--drop", "cpu-policy"),
    "for-xen-4.6+": FOR_46,
    "for-xen-4.14+": FOR_414,
}


def xcformat(*args) -> subprocess.CompletedProcess:
    return subprocess.run([str(XCFORMAT), *map(str, args)], capture_output=True, text=True,
                          timeout=600)


def convert(source: Path, target: Path, options: tuple[str, ...]) -> subprocess.CompletedProcess:
    return xcformat("convert", source, target, *options, "--no-progress")


def build_outputs(save: Path, directory: Path) -> dict[str, str]:
    """Convert ``save`` into every host-made file (each made once); {output name: error}."""
    made = {"save": save}
    errors: dict[str, str] = {}
    for output in OUTPUTS:
        for source, name, options in output.steps:
            if name in made or name in errors:
                continue
            if source not in made:
                errors[name] = errors.get(source, f"{source} missing")
                continue
            done = convert(made[source], directory / name, options)
            if done.returncode == 0:
                made[name] = directory / name
            else:
                errors[name] = done.stderr.strip()
    return {o.name: errors[o.steps[-1][1]] for o in OUTPUTS if o.steps[-1][1] in errors}


BOOT1 = f"""
cfg=$(guest_config {GUEST} {GUEST_MEMORY_MIB} {PATTERN_PAGES} {SEED})
step create xl create "$cfg"
console_wait {GUEST} 'pattern ok 5 ' 300
# Saved to dom0's tmpfs: writing a save straight to the 9p share fails with EFAULT, since 9p's
# zero-copy path cannot pin the guest's foreign-mapped pages.
step save xl save -p {GUEST} /tmp/scratch/guest.save
last_tick {GUEST} >out/saved-tick
step dump-core xl dump-core {GUEST} /tmp/scratch/guest.core
mark=$(console_size {GUEST})
step unpause xl unpause {GUEST}
step copy-out cp /tmp/scratch/guest.save /tmp/scratch/guest.core out/
rm -f /tmp/scratch/guest.save /tmp/scratch/guest.core
console_wait {GUEST} 'pattern ok' 60 "$mark" && echo "$mark" >out/unpaused-mark
step destroy xl destroy {GUEST}
mark=$(console_size {GUEST})
step restore-original timeout 300 xl restore out/guest.save
console_wait {GUEST} 'pattern ok' 60 "$mark" && echo "$mark" >out/restored-mark
xl destroy {GUEST} || true
"""


# HVM needs SVM with nested paging in the emulated CPU (Debian's Xen has no shadow paging); the
# guest is PVH, an HVM domain without a device model (Debian ships no qemu-system-xen).
HVM_CPU = "qemu64,+svm,+npt,vendor=AuthenticAMD"
PVH_GUEST = "pvhguest"
PVH_BOOT = f"""
cfg=$(guest_config {PVH_GUEST} {GUEST_MEMORY_MIB} {PATTERN_PAGES} {SEED} pvh)
step create xl create "$cfg"
console_wait {PVH_GUEST} 'pattern ok 5 ' 300
step save xl save -p {PVH_GUEST} /tmp/scratch/pvh.save
last_tick {PVH_GUEST} >out/saved-tick
step copy-out cp /tmp/scratch/pvh.save out/
step destroy xl destroy {PVH_GUEST}
for restore in original xcformat; do
    if [ $restore = xcformat ]; then
        step convert $XCFORMAT convert /tmp/scratch/pvh.save /tmp/scratch/pvh.xl --to v2 --align \\
            --wrap xl --no-progress
        file=/tmp/scratch/pvh.xl
    else
        file=/tmp/scratch/pvh.save
    fi
    mark=$(console_size {PVH_GUEST})
    step restore-$restore xl restore $file
    [ "$step_rc" != 0 ] || console_wait {PVH_GUEST} 'pattern (ok|BAD)' 90 "$mark" || true
    tail -c +$((mark + 1)) "$(console_log {PVH_GUEST})" >out/restore-$restore.console
    xl destroy {PVH_GUEST} || true
done
"""


def boot2_script(outputs: list[Output]) -> str:
    """Restore each output, wait for the guest to check its pattern, record the console part."""
    lines = []
    for output in outputs:
        if output.piped:
            restore = ("sh -c '$XCFORMAT convert in/aligned - --to v2 --wrap xl --no-progress"
                       " | xl restore /dev/stdin'")
        else:
            restore = f"xl restore in/{output.name}"
        lines += [
            f"mark=$(console_size {GUEST})",
            f"step restore:{output.name} timeout 300 {restore}",
            f"[ \"$step_rc\" != 0 ] || console_wait {GUEST} 'pattern (ok|BAD)' 60 \"$mark\" || true",
            f"tail -c +$((mark + 1)) \"$(console_log {GUEST})\" >out/{output.name}.console || true",
            f"xl destroy {GUEST} 2>/dev/null || true",
        ]
    return "\n".join(lines) + "\n"


TICK = re.compile(r"xcfguest tick (\d+)")
CHECK = re.compile(r"xcfguest pattern (ok|BAD) \d+ ([0-9a-f]+)")
ORIGINAL = re.compile(r"xcfguest pattern pages=\d+ seed=\w+ md5=([0-9a-f]+)")


@dataclass(frozen=True)
class RunOn:
    """What a restored guest's console shows."""

    ticks: list[int]
    checks: list[tuple[str, str]]
    rebooted: bool

    @classmethod
    def parse(cls, console: str) -> "RunOn":
        return cls([int(t) for t in TICK.findall(console)], CHECK.findall(console),
                   "xcfguest booted" in console)


def original_md5(console: str) -> str:
    match = ORIGINAL.search(console)
    assert match, "the guest never reported its pattern checksum"
    return match.group(1)


def ran_on(console: str, saved_tick: int, md5: str) -> str | None:
    """None if the guest counted on from ``saved_tick`` with its pattern intact, else why not."""
    seen = RunOn.parse(console)
    if seen.rebooted:
        return "the guest booted afresh instead of running on"
    if not seen.ticks:
        return "the guest printed no tick after the restore"
    if not saved_tick < seen.ticks[0] <= saved_tick + 3:
        return f"first tick after the restore is {seen.ticks[0]}, saved at {saved_tick}"
    if seen.ticks != list(range(seen.ticks[0], seen.ticks[0] + len(seen.ticks))):
        return f"the ticks do not count on one by one: {seen.ticks}"
    if not seen.checks:
        return "the guest never re-checked its pattern after the restore"
    bad = [c for c in seen.checks if c != ("ok", md5)]
    if bad:
        return f"pattern checks after the restore: {bad} (expected md5 {md5})"
    return None


# The operator's commands, run in dom0 on an ext4 disk (where direct I/O applies): xcformat save
# (the guest is destroyed, as xl save does), xcformat restore (it runs on), xcformat dump (through
# a save, the guest running on; and through xl dump-core).
DISK = "/tmp/disk"
DISK_MIB = 512
XL_COMMANDS_BOOT = f"""
mkdir -p {DISK} && mount -t ext4 /dev/vda {DISK}
cfg=$(guest_config {GUEST} {GUEST_MEMORY_MIB} {PATTERN_PAGES} {SEED})
step create xl create "$cfg"
console_wait {GUEST} 'pattern ok 5 ' 300
# A save killed a second after xl started: xl resumes the guest.
$XCFORMAT save {GUEST} {DISK}/killed.img --no-progress 2>out/killed.err &
saver=$!
for _ in $(seq 100); do pgrep -f "xl save -p {GUEST}" >out/killed-mid-save && break; sleep 0.2; done
sleep 1; kill -9 $saver; wait $saver || true
sleep 5
mark=$(console_size {GUEST})
xl list {GUEST} >out/after-kill 2>&1 || true
ls -a {DISK} >out/after-kill.files
console_wait {GUEST} 'tick' 60 "$mark" && tail -c +$((mark + 1)) "$(console_log {GUEST})" >out/after-kill.console || true
step save sh -c "$XCFORMAT save {GUEST} {DISK}/guest.img --no-progress 2>out/save.err"
last_tick {GUEST} >out/saved-tick
xl list >out/after-save 2>&1 || true
mark=$(console_size {GUEST})
step restore sh -c "$XCFORMAT restore {DISK}/guest.img --no-progress 2>out/restore.err"
[ "$step_rc" != 0 ] || console_wait {GUEST} 'pattern (ok|BAD)' 90 "$mark" || true
tail -c +$((mark + 1)) "$(console_log {GUEST})" >out/restore.console
step dump sh -c "$XCFORMAT dump {GUEST} {DISK}/guest.core --no-progress 2>out/dump.err"
step dump-core sh -c "$XCFORMAT dump {GUEST} {DISK}/guest-xl.core --via dump-core --no-progress \
    2>out/dump-core.err"
step copy-out cp {DISK}/guest.img {DISK}/guest.core {DISK}/guest-xl.core out/
xl destroy {GUEST} || true
umount {DISK}
"""


def ext4_disk(path: Path, mib: int = DISK_MIB) -> Path:
    """A sparse raw disk holding an empty ext4 file system (dom0's /dev/vda)."""
    with open(path, "wb") as disk:
        disk.truncate(mib << 20)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(path)], check=True, capture_output=True,
                   timeout=120)
    return path
