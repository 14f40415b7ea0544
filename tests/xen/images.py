"""The two initramfs images: dom0's (busybox, kernel modules, an init that enters the host's root
through 9p) and the guest's (busybox and an init that counts and guards a memory pattern)."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from . import cpio
from .components import CACHE, Components

HERE = Path(__file__).resolve().parent

# Loaded in dom0, each after the modules it depends on: the Xen device drivers the tools need,
# virtio for the 9p shares and disks, ext4 and loop for file systems on those disks (ext4's
# metadata checksums need a crc32c driver, which it asks the crypto API for, not modinfo).
DOM0_MODULES = (
    "xen-evtchn", "xen-privcmd", "xenfs", "xen-gntdev", "xen-gntalloc",
    "virtio_pci", "virtio_blk", "9pnet_virtio", "9p", "crc32c_generic", "ext4", "loop",
)


def _canonical(name: str) -> str:
    return name.replace("-", "_")


def _module_files(modules: Path) -> dict[str, Path]:
    found = {}
    for directory, _, names in os.walk(modules / "kernel"):
        for name in names:
            if name.endswith(".ko"):
                found[_canonical(name[:-3])] = Path(directory) / name
    return found


def _depends(module: Path) -> list[str]:
    """The ``depends=`` entry of the module's .modinfo section (what depmod would read)."""
    match = re.search(rb"\0depends=([^\0]*)\0", module.read_bytes())
    return [_canonical(name) for name in match.group(1).decode().split(",") if name] if match else []


def module_load_order(modules: Path, wanted=DOM0_MODULES) -> list[Path]:
    """The module files for ``wanted``, with their dependencies, dependencies first."""
    files, order, seen = _module_files(modules), [], set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        if name not in files:
            raise FileNotFoundError(f"kernel module {name} not in {modules}")
        for dependency in _depends(files[name]):
            visit(dependency)
        order.append(files[name])

    for name in wanted:
        visit(_canonical(name))
    return order


def _busybox_base(busybox: Path, init: bytes) -> list[cpio.Entry]:
    entries = [cpio.directory(d) for d in ("bin", "dev", "proc", "sys", "tmp", "mnt")]
    entries.append(cpio.file("bin/busybox", busybox.read_bytes(), executable=True))
    entries.append(cpio.symlink("bin/sh", "busybox"))
    entries.append(cpio.file("init", init, executable=True))
    return entries


def _cached(name: str, build) -> Path:
    """Build the image once per content: the name carries a hash of its inputs."""
    target = CACHE / "images" / name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        partial.write_bytes(build())
        partial.rename(target)
    return target


def _digest(*parts: bytes) -> str:
    return hashlib.sha256(b"\0".join(parts)).hexdigest()[:16]


def dom0_initramfs(components: Components) -> Path:
    init = (HERE / "dom0-init.sh").read_bytes()
    order = module_load_order(components.modules)
    key = _digest(init, str(components.kernel).encode(), *(str(p).encode() for p in order))

    def build() -> bytes:
        entries = _busybox_base(components.busybox, init)
        entries.append(cpio.directory("modules"))
        for number, module in enumerate(order):
            entries.append(cpio.file(f"modules/{number:02d}-{module.name}", module.read_bytes()))
        return cpio.archive(entries)

    return _cached(f"dom0-{key}.cpio.gz", build)


def guest_initrd(components: Components) -> Path:
    init = (HERE / "guest-init.sh").read_bytes()
    return _cached(f"guest-{_digest(init)}.cpio.gz",
                   lambda: cpio.archive(_busybox_base(components.busybox, init)))
