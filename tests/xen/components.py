"""The pieces of the virtual machine, from Debian packages: downloaded once, kept in a cache.

The hypervisor and the kernel come from packages that are downloaded and unpacked into the cache
(``apt-get download`` and ``dpkg-deb -x``), never installed on the host: a host that installs
``xen-hypervisor`` would boot into it.  QEMU, the Xen tools and busybox are used where the host
has them installed (``.ci/run`` installs them).
"""

from __future__ import annotations

import glob
import gzip
import lzma
import struct
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("XCFORMAT_XENVM_CACHE", ROOT / ".cache" / "xenvm"))

XEN_PACKAGE = "xen-hypervisor-4.17-amd64"
KERNEL_META_PACKAGE = "linux-image-amd64"
HOST_PACKAGES = ("qemu-system-x86", "xen-utils-4.17", "busybox-static")
HOST_PROGRAMS = {
    "qemu-system-x86_64": "qemu-system-x86",
    "/usr/lib/xen-4.17/bin/xl": "xen-utils-4.17",
    "/bin/busybox": "busybox-static",
}


class Unavailable(Exception):
    """The machine cannot run the virtual machine; the message says why."""


@dataclass(frozen=True)
class Components:
    xen: Path  # the hypervisor as an uncompressed ELF: QEMU's multiboot loader needs that
    kernel: Path
    modules: Path  # lib/modules/<release>
    busybox: Path
    versions: dict[str, str]


def _run(command: list[str], **kwargs) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, **kwargs)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise Unavailable(f"{command[0]}: {error}") from None
    if done.returncode != 0:
        raise Unavailable(f"{' '.join(command)} failed: {done.stderr.strip()[-400:]}")
    return done.stdout


def check_host() -> None:
    """Raise Unavailable naming the package to install when a host program is missing."""
    for program, package in HOST_PROGRAMS.items():
        if not (os.access(program, os.X_OK) or shutil.which(program)):
            raise Unavailable(f"{program} is missing (install Debian's {package})")


def _cached_deb(package: str) -> Path | None:
    found = sorted(glob.glob(str(CACHE / "debs" / f"{package}_*.deb")))
    return Path(found[-1]) if found else None


def _kernel_package() -> str:
    """The versioned kernel package the meta package points at (the cached one when offline)."""
    try:
        depends = _run(["apt-cache", "depends", KERNEL_META_PACKAGE])
    except Unavailable:
        cached = sorted(glob.glob(str(CACHE / "debs" / "linux-image-[0-9]*.deb")))
        if not cached:
            raise
        return Path(cached[-1]).name.split("_")[0]
    for line in depends.splitlines():
        name = line.split(":", 1)[-1].strip()
        if line.strip().startswith("Depends:") and name.startswith("linux-image-"):
            return name
    raise Unavailable(f"apt-cache depends {KERNEL_META_PACKAGE}: no linux-image dependency")


def _deb(package: str) -> Path:
    cached = _cached_deb(package)
    if cached:
        return cached
    (CACHE / "debs").mkdir(parents=True, exist_ok=True)
    _run(["apt-get", "download", "-q", package], cwd=CACHE / "debs")
    cached = _cached_deb(package)
    if not cached:
        raise Unavailable(f"apt-get download {package} left no .deb in {CACHE / 'debs'}")
    return cached


def _unpacked(deb: Path) -> Path:
    target = CACHE / "unpacked" / deb.stem
    if not (target / ".complete").exists():
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        _run(["dpkg-deb", "-x", str(deb), str(target)])
        (target / ".complete").touch()
    return target


def _version(deb: Path) -> str:
    return deb.stem.split("_")[1]


def ensure() -> Components:
    """Download and unpack what is missing from the cache; raise Unavailable if that fails."""
    check_host()
    xen_deb = _deb(XEN_PACKAGE)
    kernel_deb = _deb(_kernel_package())
    xen_tree, kernel_tree = _unpacked(xen_deb), _unpacked(kernel_deb)
    xen = CACHE / f"xen-{_version(xen_deb)}.elf"
    if not xen.exists():
        (packed,) = glob.glob(str(xen_tree / "boot" / "xen-*-amd64.gz"))
        xen.with_suffix(".tmp").write_bytes(gzip.decompress(Path(packed).read_bytes()))
        xen.with_suffix(".tmp").rename(xen)
    (packed_kernel,) = glob.glob(str(kernel_tree / "boot" / "vmlinuz-*"))
    kernel = _vmlinux(Path(packed_kernel))
    (modules,) = glob.glob(str(kernel_tree / "lib" / "modules" / "*"))
    versions = {XEN_PACKAGE: _version(xen_deb), kernel_deb.name.split("_")[0]: _version(kernel_deb)}
    versions.update(host_versions())
    return Components(xen, Path(kernel), Path(modules), Path("/bin/busybox"), versions)


def _vmlinux(bzimage: Path) -> Path:
    """The kernel's ELF image, taken out of its bzImage once: Xen's and libxenguest's loaders take
    either, but decompressing the bzImage in a TCG-emulated dom0 costs half a minute per guest."""
    target = CACHE / (bzimage.name.replace("vmlinuz", "vmlinux") + ".elf")
    if not target.exists():
        data = bzimage.read_bytes()
        # The boot protocol's payload_offset (Documentation/x86/boot.rst): an xz stream.
        (offset,) = struct.unpack_from("<I", data, 0x248)
        start = ((data[0x1F1] or 4) + 1) * 512 + offset
        elf = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[start:])
        if elf[:4] != b"\x7fELF":
            raise Unavailable(f"{bzimage}: the payload is not an ELF kernel")
        target.with_suffix(".tmp").write_bytes(elf)
        target.with_suffix(".tmp").rename(target)
    return target


def host_versions() -> dict[str, str]:
    """The installed versions of the host packages the machine uses."""
    out = _run(["dpkg-query", "-W", "-f", "${Package} ${Version}\\n", *HOST_PACKAGES])
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
