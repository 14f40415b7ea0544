"""The operator's commands on Debian's Xen 4.17, in dom0, in one boot: ``xcformat save`` of the
counting guest onto ext4, ``xcformat restore`` of that image (the guest counts on from its saved
tick, its pattern intact), and ``xcformat dump`` of the restored guest, through a save and
through ``xl dump-core``, each file checked here by xcformat's reader and the dumps by
libkdumpfile where installed."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.core.kdumpfile_runner import KDUMP_PYTHON, kdumpfile_view
from tests.integration.images import guest_state

from . import pattern, scenario
from .scenario import xcformat

pytestmark = pytest.mark.xen_vm


def test_every_step_succeeded(xl_commands_boot):
    failed = {name: rc for name, (rc, _) in xl_commands_boot.steps.items() if rc != 0}
    errors = {name: (xl_commands_boot.out / f"{name}.err").read_text(errors="replace")
              for name in failed if (xl_commands_boot.out / f"{name}.err").exists()}
    assert not failed, f"{failed}\n{errors}\n{xl_commands_boot.tail()}"


def test_a_killed_save_leaves_no_image_and_the_guest_running_on(xl_commands_boot):
    """xcformat killed mid-save: xl finds its pipe closed and resumes the guest."""
    assert (xl_commands_boot.out / "killed-mid-save").read_text().strip(), \
        "xl save never started before the kill"
    listed = (xl_commands_boot.out / "after-kill").read_text()
    assert scenario.GUEST in listed, listed
    flags = listed.splitlines()[-1].split()[-2]
    assert flags[2] == "-" and flags[3] == "-", f"the guest is not running: {flags}"
    assert "killed.img" not in (xl_commands_boot.out / "after-kill.files").read_text()
    console = (xl_commands_boot.out / "after-kill.console").read_text(errors="replace")
    ticks = scenario.RunOn.parse(console)
    assert ticks.ticks and not ticks.rebooted


@pytest.mark.parametrize("command", ["save", "restore", "dump", "dump-core"])
def test_each_command_used_direct_io_on_ext4(xl_commands_boot, command):
    said = (xl_commands_boot.out / f"{command}.err").read_text()
    assert "using" not in said, said            # no fall-back notice: direct I/O applied
    assert said.strip(), "the command said nothing of what it did"


def test_save_wrote_an_aligned_image_and_destroyed_the_guest(xl_commands_boot):
    said = (xl_commands_boot.out / "save.err").read_text()
    assert "saved xcguest to /tmp/disk/guest.img (aligned" in said
    assert "the guest is destroyed, as xl save does" in said
    assert scenario.GUEST not in (xl_commands_boot.out / "after-save").read_text()
    image = xl_commands_boot.out / "guest.img"
    assert xcformat("validate", image).returncode == 0
    summary = json.loads(xcformat("info", image, "--json").stdout)
    assert (summary["format"], summary["pages"]) == ("aligned", scenario.GUEST_MEMORY_MIB * 256)
    found, _ = pattern.find(guest_state(image)[0], scenario.PATTERN_PAGES, scenario.SEED)
    assert len(found) == scenario.PATTERN_PAGES


def test_restore_ran_the_guest_on_from_its_saved_tick(xl_commands_boot):
    said = (xl_commands_boot.out / "restore.err").read_text()
    assert "fed to xl as v2" in said and "the guest is running" in said
    saved_tick = int((xl_commands_boot.out / "saved-tick").read_text())
    md5 = scenario.original_md5(xl_commands_boot.console(scenario.GUEST))
    console = (xl_commands_boot.out / "restore.console").read_text(errors="replace")
    why = scenario.ran_on(console, saved_tick, md5)
    assert why is None, why


DUMPS = {"dump": "guest.core", "dump-core": "guest-xl.core"}


@pytest.fixture(scope="module", params=list(DUMPS))
def dump(request, xl_commands_boot):
    said = (xl_commands_boot.out / f"{request.param}.err").read_text()
    assert f"dumped xcguest to /tmp/disk/{DUMPS[request.param]} (core" in said, said
    assert "the guest is running" in said
    return xl_commands_boot.out / DUMPS[request.param]


def test_dump_is_a_valid_core_of_the_running_guest(dump):
    checked = xcformat("validate", dump)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    summary = json.loads(xcformat("info", dump, "--json").stdout)
    assert (summary["format"], summary["guest"]) == ("core", "pv")
    assert oct(dump.stat().st_mode & 0o777) == oct(0o600)
    found, _ = pattern.find(guest_state(dump)[0], scenario.PATTERN_PAGES, scenario.SEED)
    assert len(found) == scenario.PATTERN_PAGES


@pytest.mark.skipif(KDUMP_PYTHON is None, reason="python3-libkdumpfile is not installed")
def test_libkdumpfile_reads_the_pattern_from_the_dump(dump):
    pages, _ = guest_state(dump)
    found, _ = pattern.find(pages, scenario.PATTERN_PAGES, scenario.SEED)
    pfns = sorted(found.values())[:64]
    view = kdumpfile_view(dump, pfns)
    for pfn in pfns:
        assert view["pages"][str(pfn)] == hashlib.sha256(pages[pfn]).hexdigest()
