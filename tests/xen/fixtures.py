"""Remake the real fixture in tests/fixtures/real: the save and the core dump that boot 1 of the
real-Xen scenario makes (``xl save -p`` and ``xl dump-core`` of one paused state of the counting
guest), in one xz archive whose dictionary spans both files, so the dump, nearly the same bytes
as the save, costs almost nothing."""

from __future__ import annotations

import io
import lzma
import tarfile
from pathlib import Path

from . import components, scenario, vm
from .components import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "real"
ARCHIVE = FIXTURES / "xen-4.17-pv-linux.tar.xz"
MEMBERS = {"guest.save": "xl save -p", "guest.core": "xl dump-core"}
FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME, "dict_size": 192 << 20}]


def pack(out: Path) -> None:
    """Write the archive and its SOURCES note from a finished boot 1's ``out`` directory."""
    versions = components.ensure().versions
    kernel = next(f"{p} {v}" for p, v in versions.items() if p.startswith("linux-image-"))
    FIXTURES.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in MEMBERS:
            info = tar.gettarinfo(str(out / name), arcname=name)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 0
            with open(out / name, "rb") as data:
                tar.addfile(info, data)
    partial = ARCHIVE.with_suffix(".partial")
    partial.write_bytes(lzma.compress(buffer.getvalue(), format=lzma.FORMAT_XZ, filters=FILTERS))
    partial.rename(ARCHIVE)
    saved_tick = (out / "saved-tick").read_text().strip()
    guest = (f"{scenario.GUEST_MEMORY_MIB} MiB 64-bit PV guest ({kernel} with a busybox initrd"
             f" counting, {scenario.PATTERN_PAGES} pattern pages, seed {scenario.SEED}, saved at"
             f" tick {saved_tick})")
    notes = [f"{ARCHIVE.name}:{name}: Debian xen-hypervisor-4.17-amd64"
             f" {versions[components.XEN_PACKAGE]}, {guest}, `{command} {scenario.GUEST} FILE`"
             f" (tools/xenvm fixtures)" for name, command in MEMBERS.items()]
    (FIXTURES / "SOURCES").write_text("\n".join(notes) + "\n")


def remake(job: Path, earlier: Path | None = None) -> int:
    """Run boot 1 (or take the job directory of an earlier one) and pack its files."""
    if earlier is None:
        result = vm.run(scenario.BOOT1, job, timeout=900)
        if result.rc != 0:
            print(result.tail())
            return 1
        earlier = job
    pack(earlier / "out")
    print(f"wrote {ARCHIVE} ({ARCHIVE.stat().st_size} bytes)")
    return 0
