"""Files written by a real Xen 4.17 (tests/fixtures/real, made by ``tools/xenvm fixtures``; the
SOURCES file there says how each was made), read without a VM: every command reads them, the
guest's pattern is found in them, every writer converts the save into a file our own reader
accepts, and converting back keeps every page."""

from __future__ import annotations

import json
import tarfile

import pytest

from tests.integration.images import guest_state

from . import pattern, scenario
from .fixtures import ARCHIVE, FIXTURES, MEMBERS
from .scenario import xcformat

NAMES = sorted(MEMBERS)
SAVES = [n for n in NAMES if n.endswith(".save")]


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """{fixture name: path of its decompressed bytes}."""
    directory = tmp_path_factory.mktemp("real")
    with tarfile.open(ARCHIVE) as tar:
        tar.extractall(directory, filter="data")
    return {name: directory / name for name in NAMES}


def test_every_fixture_says_how_it_was_made():
    sources = (FIXTURES / "SOURCES").read_text()
    assert NAMES, "no real fixtures"
    for name in NAMES:
        assert f"{ARCHIVE.name}:{name}: Debian xen-hypervisor-4.17-amd64" in sources


@pytest.mark.parametrize("name", NAMES)
def test_fixture_is_read_validated_and_mapped(real, name):
    summary = json.loads(xcformat("info", real[name], "--json").stdout)
    assert summary["format"] == ("core" if name.endswith(".core") else "v2")
    assert summary["guest"] == "pv"
    assert summary["guest_width"] == 64
    done = xcformat("validate", real[name])
    assert done.returncode == 0, done.stdout + done.stderr
    done = xcformat("map", real[name], "--json")
    assert done.returncode == 0 and json.loads(done.stdout), done.stderr


@pytest.mark.parametrize("name", NAMES)
def test_the_guests_pattern_is_found_whole(real, name):
    found, _ = pattern.find(guest_state(real[name])[0], scenario.PATTERN_PAGES, scenario.SEED)
    assert len(found) == scenario.PATTERN_PAGES


def test_save_and_dump_of_one_paused_state_hold_the_same_pages(real):
    for save in SAVES:
        saved, _ = guest_state(real[save])
        dumped, _ = guest_state(real[save.replace(".save", ".core")])
        assert set(saved) == set(dumped)
        same = sum(saved[pfn] == dumped[pfn] for pfn in saved)
        # Only the PV page tables differ: pfns in the save, machine frames in the dump.
        assert same > 0.9 * len(saved), f"{save}: {same} of {len(saved)} pages alike"


@pytest.mark.parametrize("save,target", [pytest.param(s, t, id=f"{s}-{t}") for s in SAVES
                                         for t in scenario.CONVERSIONS])
def test_every_writer_output_is_valid_and_converts_back_page_for_page(real, tmp_path, save, target):
    out = tmp_path / target
    done = xcformat("convert", real[save], out, *scenario.CONVERSIONS[target], "--no-progress")
    assert done.returncode == 0, done.stderr
    checked = xcformat("validate", out)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    pages = guest_state(real[save])[0]
    assert guest_state(out)[0] == pages
    if target != "core":  # a core dump has no place for what a save needs besides the pages
        back = tmp_path / "back"
        done = xcformat("convert", out, back, "--to", "v2", "--no-progress")
        assert done.returncode == 0, done.stderr
        assert guest_state(back)[0] == pages
