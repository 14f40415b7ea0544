"""What the real-Xen bench runs in dom0: plain ``xl`` saves, restores and dumps beside the
xcformat paths, each a step of one dom0 script (see :mod:`tests.xen.bench`).

Every command runs under ``/usr/bin/time`` per process, so that the report can say which of
``xl`` and ``xcformat`` spent the CPU.  Saves and dumps go to an ext4 file system on a virtio
disk (:data:`DISK`); writing them to the 9p job share fails with EFAULT.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

GUEST = "benchguest"
MOUNT = "/tmp/vdisk"       # the ext4 file system on the virtio disk
DISK = f"{MOUNT}/images"    # where saves and dumps are written
SAVE_PIPE = f"xl save {GUEST} /dev/stdout"
PAUSED_SAVE_PIPE = f"xl save -p {GUEST} /dev/stdout"


@dataclass(frozen=True)
class Measured:
    """One measured command.  ``kind`` is save, restore or dump; ``plain`` marks the xl row the
    others of its kind are compared with.  ``restores`` names the output a restore reads
    (``{file}`` in its command); ``then`` runs after the measured command, unmeasured."""

    name: str
    kind: str
    command: str
    plain: bool = False
    output: str | None = None
    restores: str | None = None
    guest_after: str = "running"   # "running", "gone" (saved away) or "restored"
    then: str = ""
    label: str = ""
    limit: int | None = None       # seconds after which the command is killed (timeout(1))
    round: int = 1

    @property
    def path(self) -> str:
        """The path this step measures, the same in every round."""
        return self.name.removesuffix(f".{self.round}") if self.round > 1 else self.name

    def in_round(self, number: int) -> "Measured":
        return self if number == 1 else replace(self, name=f"{self.name}.{number}", round=number)


def _timed(tag: str, command: str) -> str:
    """``command`` (one program and its arguments) under /usr/bin/time into out/time-TAG."""
    return f"/usr/bin/time -f '%e %U %S' -o out/time-{{step}}-{tag} {command}"


def xc(args: str) -> str:
    """An xcformat command; ``{xcformat}`` becomes the program (or a profiled run of it)."""
    return _timed("xcformat", f"{{xcformat}} {args} --no-progress")


def xl(args: str) -> str:
    return _timed("xl", f"xl {args}")


def pipeline(*parts: str) -> str:
    return " | ".join(parts)


def plain_paths(dump_limit: int) -> list[Measured]:
    return [
        Measured("xl-save", "save", xl(f"save {GUEST} {DISK}/xl.save"), plain=True,
             output="xl.save", guest_after="gone", label=f"xl save {GUEST} FILE"),
        Measured("xl-restore", "restore", xl("restore {file}"), plain=True, restores="xl.save",
             guest_after="restored", label="xl restore FILE"),
        # It maps and copies one page at a time (xc_domain_dumpcore_via_callback in
        # tools/libs/guest/xg_core.c): under TCG, minutes per 128 MiB.  Killed at the limit.
        Measured("xl-dump-core", "dump", xl(f"dump-core {GUEST} {DISK}/xl.core"), plain=True,
                 output="xl.core", label=f"xl dump-core {GUEST} FILE", limit=dump_limit,
                 then=f"xl unpause {GUEST} 2>/dev/null"),  # it pauses the guest while it dumps
    ]


def save_pipe(to: str, io: str, name: str) -> Measured:
    command = pipeline(xl(f"save {GUEST} /dev/stdout"),
                       xc(f"convert - {DISK}/{name} --to {to} --io {io}"))
    return Measured(
        f"save-{to}-{io}", "save", command, output=name, guest_after="gone",
        label=f"xl save {GUEST} /dev/stdout | xcformat convert - IMAGE --to {to} --io {io}")


def restore_pipe(name: str, io: str) -> Measured:
    """Restore of image ``name`` (guest.FORMAT) through a pipe into xl restore."""
    command = pipeline(xc(f"convert {{file}} - --to v2 --wrap xl --io {io}"),
                       xl("restore /dev/stdin"))
    return Measured(
        f"restore-{name.split('.')[-1]}-{io}", "restore", command, restores=name,
        guest_after="restored",
        label=f"xcformat convert IMAGE - --to v2 --wrap xl --io {io} | xl restore /dev/stdin")


def dump_from_save(io: str) -> Measured:
    command = pipeline(xl(f"save -p {GUEST} /dev/stdout"),
                       xc(f"convert - {DISK}/save.core --to core --io {io}"))
    return Measured(
        f"dump-save-core-{io}", "dump", command, output="save.core", then=f"xl unpause {GUEST}",
        label=f"xl save -p {GUEST} /dev/stdout | xcformat convert - CORE --to core --io {io}; "
              f"xl unpause {GUEST}")


def commands(io: str) -> list[Measured]:
    """What an operator runs: ``xcformat save``, ``restore`` and ``dump``, each calling xl."""
    return [
        Measured(f"xcformat-save-{io}", "save",
                 xc(f"save {GUEST} {DISK}/command.aligned --io {io}"),
                 output="command.aligned", guest_after="gone",
                 label=f"xcformat save {GUEST} IMAGE --io {io}"),
        Measured(f"xcformat-restore-{io}", "restore", xc(f"restore {{file}} --io {io}"),
                 restores="command.aligned", guest_after="restored",
                 label=f"xcformat restore IMAGE --io {io}"),
        Measured(f"xcformat-dump-{io}", "dump", xc(f"dump {GUEST} {DISK}/command.core --io {io}"),
                 output="command.core", label=f"xcformat dump {GUEST} CORE --io {io}"),
    ]


def probe_steps() -> list[Measured]:
    """Where a save's time goes: xcformat's start-up alone (the parser of the command that
    runs, and the code it imports), xl alone into a pipe, xl into dd writing O_DIRECT, and the
    conversion with its output thrown away (no file writes)."""
    paused_save = xl(f"save -p {GUEST} /dev/stdout")
    return [
        Measured("probe-xcformat-start-up", "start-up",
                 _timed("xcformat", "{xcformat} convert --help") + " >/dev/null",
                 label="xcformat convert --help"),
        Measured("probe-xl-to-pipe", "save", pipeline(paused_save, "cat >/dev/null"),
                 then=f"xl unpause {GUEST}",
                 label=f"xl save -p {GUEST} /dev/stdout | cat >/dev/null"),
        Measured("probe-xl-to-dd-direct", "save",
                 pipeline(paused_save, f"dd of={DISK}/dd.img bs=8M iflag=fullblock oflag=direct "
                                       "status=none"),
                 output="dd.img", then=f"xl unpause {GUEST}",
                 label=f"xl save -p {GUEST} /dev/stdout | dd of=FILE bs=8M oflag=direct"),
        Measured("probe-convert-to-pipe", "save",
                 pipeline(paused_save, xc("convert - - --to aligned") + " >/dev/null"),
                 then=f"xl unpause {GUEST}",
                 label=f"xl save -p {GUEST} /dev/stdout | xcformat convert - - --to aligned "
                       ">/dev/null"),
    ]


def paths(save_to: str = "aligned", io: str = "direct", *, probes: bool = False,
          also_to: tuple[str, ...] = (), dump_limit: int = 300, rounds: int = 1) -> list[Measured]:
    """The bench's steps in order: each save is followed by the restore of what it wrote, so
    the guest is back before the next save; dumps leave it running.

    The saves and restores run ``rounds`` times, the plain xl pair in every round, so that each
    path is compared with xl within minutes of it: plain xl's own times differ by up to 2x from
    one boot to the next under TCG.  Each round starts one pair later than the one before, so
    that no path always runs first.  Dumps and probes run once: plain xl dump-core alone is
    stopped at ``dump_limit`` seconds."""
    plain_save, plain_restore, plain_dump = plain_paths(dump_limit)
    command_save, command_restore, command_dump = commands(io)
    pairs = [(plain_save, plain_restore)]
    pairs += [(save_pipe(target, io, f"guest.{target}"), restore_pipe(f"guest.{target}", io))
              for target in (save_to, *also_to)]
    pairs.append((command_save, command_restore))
    steps = []
    for number in range(1, rounds + 1):
        start = (number - 1) % len(pairs)
        steps += [step.in_round(number) for pair in pairs[start:] + pairs[:start]
                  for step in pair]
    if probes:
        steps += probe_steps()
    # No xl dump-core into a FIFO: xg_core.c writes the page table (.xen_p2m/.xen_pfn) after
    # the pages, so a core dump cannot be converted as it streams; xcformat refuses a core on a
    # pipe.  A paused save converted to a core dump is the streaming path.
    return steps + [plain_dump, dump_from_save(io), command_dump]
