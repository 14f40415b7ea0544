"""libkdumpfile and crash, the readers support engineers use, on dumps we write.

Both are Debian packages (python3-libkdumpfile, crash); each test skips when its tool is
absent.  libkdumpfile runs in a subprocess under the system Python it is built for.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import subprocess

import pytest
from coredump_builders import context, guest_records, page, write_dump
from kdumpfile_runner import kdumpfile_view, needs_kdumpfile

from xcformat.records import GuestType

PFNS = list(range(0, 64)) + list(range(0x200, 0x240)) + [0x9999]
HOLES = [64, 0x1FF, 0x240, 0x9998]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write(tmp_path, guest, align):
    pfns = list(PFNS)
    random.Random(7).shuffle(pfns)
    path = tmp_path / "guest.core"
    write_dump(path, guest_records(pfns, guest=guest, bits=64, resend=[3]), align=align)
    return path


@needs_kdumpfile
@pytest.mark.parametrize("align", [False, True], ids=["libxc", "aligned"])
@pytest.mark.parametrize("guest", [GuestType.PV, GuestType.HVM], ids=["pv", "hvm"])
def test_libkdumpfile_reads_every_page_and_the_registers(tmp_path, guest, align):
    path = _write(tmp_path, guest, align)
    pv = guest is GuestType.PV
    seen = kdumpfile_view(path, PFNS + HOLES, PFNS[:8] if pv else ())
    assert seen["format"] == "xc_core_elf"
    assert seen["xen_xlat"] == (1 if pv else 0)
    for pfn in PFNS:
        assert seen["pages"][str(pfn)] == sha(page(pfn)), pfn
    for hole in HOLES:
        assert seen["pages"][str(hole)] is None
    if pv:
        # gmfn = pfn in a dump made from a save image: machine reads find the same pages.
        for gmfn in PFNS[:8]:
            assert seen["machine_pages"][str(gmfn)] == sha(page(gmfn))
        assert seen["cpus"] == 2
        ctx = context(64, 1)
        assert seen["regs"]["1"]["rip"] == int.from_bytes(ctx[648:656], "little")
        assert seen["regs"]["1"]["cr3"] == int.from_bytes(ctx[5008:5016], "little")


@pytest.mark.skipif(shutil.which("crash") is None, reason="crash is not installed")
@pytest.mark.parametrize("align", [False, True], ids=["libxc", "aligned"])
@pytest.mark.parametrize("guest", [GuestType.PV, GuestType.HVM], ids=["pv", "hvm"])
def test_crash_recognises_an_elf_xen_dump_and_parses_its_headers(tmp_path, guest, align):
    path = _write(tmp_path, guest, align)
    # crash stops with "namelist argument required" (exit 1) after the header parse: judge by
    # the output, not the exit status.
    out = subprocess.run(["crash", "-d", "1", str(path)], stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, timeout=60)
    text = out.stdout + out.stderr
    assert "XC_CORE_ELF" in text
    magic = "f00febed" if guest is GuestType.PV else "f00febee"
    assert f"xch_magic: {magic}" in text
    assert f"xch_nr_pages: {len(PFNS)} " in text
    assert "format_version: 0000000000000001" in text
    if guest is GuestType.HVM:
        assert "XC_CORE_NO_P2M" in text
