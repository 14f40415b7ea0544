"""A stand-in for Xen's ``xl``, run as a real program by the tests of ``xcformat save``,
``restore`` and ``dump``: it writes real bytes that a real Xen wrote (the fixtures of
tests/fixtures/real) into the path it is given, opening it as xl does, or fails in the way
``FAKE_XL`` names.

Its state lives in ``FAKE_XL_DIR``: ``log`` (one line per call), ``state`` (the guest's
``xl list`` flags, or absent when there is no guest) and ``restored`` (what a restore read).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

HOME = Path(os.environ["FAKE_XL_DIR"])
MODE = os.environ.get("FAKE_XL", "")
PAUSED, RUNNING = "--p---", "-b----"


def state(flags: str | None) -> None:
    path = HOME / "state"
    if flags is None:
        path.unlink(missing_ok=True)
    else:
        path.write_text(flags)


def guest_exists(name: str) -> bool:
    if not (HOME / "state").exists() or MODE == "no-domain":
        print(f"{name} is an invalid domain identifier (rc=-6)", file=sys.stderr)
        return False
    return True


def write_out(path: str, data: bytes, flags: int, cut: int | None = None) -> bool:
    """Write ``data`` (its first ``cut`` bytes) to ``path`` in pieces; False on a write error."""
    fd = os.open(path, flags, 0o644)
    try:
        view = memoryview(data)[:cut]
        for start in range(0, len(view), 1 << 20):
            os.write(fd, view[start:start + (1 << 20)])
            if MODE == "slow":
                time.sleep(0.05)
    except BrokenPipeError:
        return False
    finally:
        os.close(fd)
    return True


def save(args: list[str]) -> int:
    leave_paused = "-p" in args
    domain, path = [a for a in args if not a.startswith("-")][:2]
    if not guest_exists(domain):
        return 1
    data = Path(os.environ["FAKE_XL_SAVE"]).read_bytes()
    print(f"Saving to {path} new xl format (info 0x3/0x0/938)", file=sys.stderr)
    cut = {"save-fails-midway": len(data) // 2, "save-short": len(data) * 3 // 5}.get(MODE)
    whole = write_out(path, data, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, cut)
    if not whole or MODE in ("save-fails-midway", "save-fails-at-end"):
        print("Failed to save domain, resuming domain", file=sys.stderr)
        state(RUNNING)
        return 1
    state(PAUSED if leave_paused else None)
    return 0


def restore(args: list[str]) -> int:
    path = args[-1]
    if MODE == "restore-refuses":
        print("libxl: error: libxl_create.c:1234: Domain 7:domain with name xcguest already "
              "exists", file=sys.stderr)
        return 3
    with open(path, "rb") as stream:
        data = stream.read()
    (HOME / "restored").write_bytes(data)
    if not data.startswith(b"Xen saved domain, xl format\n \0 \r"):
        print("File has wrong magic number - corrupt or for a different tool?", file=sys.stderr)
        return 3
    state(PAUSED if "-p" in args else RUNNING)
    return 0


def dump_core(args: list[str]) -> int:
    domain, path = args[:2]
    if not guest_exists(domain):
        return 1
    data = Path(os.environ["FAKE_XL_CORE"]).read_bytes()
    # xl dump-core opens its file read-write (tools/libs/guest/xg_core.c): on a pipe it holds a
    # reading end too, so a reader that goes away leaves it waiting (as "dump-hangs" does).
    cut = len(data) // 3 if MODE == "dump-hangs" else None
    write_out(path, data, os.O_RDWR | os.O_CREAT | os.O_TRUNC, cut)
    if MODE == "dump-hangs":
        time.sleep(3600)
    return 0


def xl_list(args: list[str]) -> int:
    if not guest_exists(args[0]):
        return 1
    print("Name                                        ID   Mem VCPUs\tState\tTime(s)")
    print(f"{args[0]:<40}     7    96     1     {(HOME / 'state').read_text()}       2.1")
    return 0


def change(flags: str | None):
    def command(args: list[str]) -> int:
        if not guest_exists(args[0]):
            return 1
        state(flags)
        return 0
    return command


def info(_args: list[str]) -> int:
    print("host                   : fake\nxen_major              : 4\nxen_minor              : 17")
    return 0


COMMANDS = {"save": save, "restore": restore, "dump-core": dump_core, "list": xl_list,
            "destroy": change(None), "unpause": change(RUNNING), "pause": change(PAUSED),
            "info": info}


def main() -> int:
    with open(HOME / "log", "a") as log:
        log.write(" ".join(sys.argv[1:]) + "\n")
    if MODE == "no-hypervisor":          # what xl says outside a Xen dom0
        print("ERROR:  Can't find hypervisor information in sysfs!", file=sys.stderr)
        return 1
    return COMMANDS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
