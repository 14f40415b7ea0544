"""Debian's Xen 4.17, booted in QEMU, against xcformat: its save and dump are read, validated,
mapped and converted; every file xcformat writes for a Xen 4.6+ host is restored by it and the
guest runs on."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.core.kdumpfile_runner import KDUMP_PYTHON, kdumpfile_view
from tests.integration.images import guest_state
from xcformat import formats
from xcformat.io import open_source
from xcformat.records import PageBatch, PageType

from . import pattern, scenario
from .scenario import xcformat

pytestmark = pytest.mark.xen_vm


def info(path) -> dict:
    done = xcformat("info", path, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_boot1_steps_all_succeeded(boot1):
    failed = {name: rc for name, (rc, _) in boot1.steps.items() if rc != 0}
    assert not failed, f"{failed}\n{boot1.tail()}"


@pytest.mark.parametrize("name", ["guest.save", "guest.core"])
def test_real_file_is_read_validated_and_mapped(boot1, name):
    path = boot1.out / name
    done = xcformat("validate", path)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = info(path)
    assert summary["guest"] == "pv"
    assert summary["pages"] == scenario.GUEST_MEMORY_MIB * 256
    done = xcformat("map", path, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)


def test_real_save_is_xl_v3_from_xen_417(real_save):
    summary = info(real_save)
    assert (summary["format"], summary["wrapper"]) == ("v2", "xl")
    assert summary["stream_version"] == 3 and summary["xen_version"] == "4.17"


@pytest.mark.parametrize("name", ["guest.save", "guest.core"])
def test_pattern_is_in_the_real_file(boot1, name):
    pages, _ = guest_state(boot1.out / name)
    found, _ = pattern.find(pages, scenario.PATTERN_PAGES, scenario.SEED)
    assert len(found) == scenario.PATTERN_PAGES


@pytest.mark.parametrize("target", scenario.CONVERSIONS)
def test_real_save_converts_and_our_reader_accepts_it(real_save, tmp_path, target):
    out = tmp_path / target
    done = xcformat("convert", real_save, out, *scenario.CONVERSIONS[target], "--no-progress")
    assert done.returncode == 0, done.stderr
    checked = xcformat("validate", out)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    pages, _ = guest_state(out)
    found, _ = pattern.find(pages, scenario.PATTERN_PAGES, scenario.SEED)
    assert len(found) == scenario.PATTERN_PAGES


PAGE_TABLES = {PageType.L1TAB, PageType.L2TAB, PageType.L3TAB, PageType.L4TAB, PageType.L1TAB_PINNED,
               PageType.L2TAB_PINNED, PageType.L3TAB_PINNED, PageType.L4TAB_PINNED}


def _typed_pages(path) -> dict[int, int]:
    """{pfn: page type} of a save (the page tables are rewritten as pfns in a PV save)."""
    types = {}
    with open_source(str(path), "buffered") as source:
        fmt, _ = formats.detect(source)
        for record in fmt.reader(source, formats.Hints()).records():
            if isinstance(record, PageBatch):
                types.update(zip(record.pfns, record.types))
    return types


@pytest.fixture(scope="session")
def dump_from_save(real_save, tmp_path_factory):
    out = tmp_path_factory.mktemp("dump") / "from-save.core"
    done = xcformat("convert", real_save, out, "--to", "core", "--no-progress")
    assert done.returncode == 0, done.stderr
    return out


def test_dump_from_save_matches_xens_dump_page_by_page(real_save, real_dump, dump_from_save):
    ours, _ = guest_state(dump_from_save)
    xens, _ = guest_state(real_dump)
    assert set(ours) == set(xens), "the two dumps hold different pfns"
    differ = {pfn for pfn in ours if ours[pfn] != xens[pfn]}
    types = _typed_pages(real_save)
    # A PV save holds page tables with pfns where the guest's memory (and so Xen's dump) holds
    # machine frame numbers (xg_sr_save_x86_pv.c, normalise_pagetable): only they may differ.
    tables = {pfn for pfn, kind in types.items() if kind in PAGE_TABLES}
    assert differ <= tables, f"{len(differ - tables)} non-page-table pages differ"
    assert len(ours) - len(differ) > 0.9 * len(ours)


@pytest.mark.skipif(KDUMP_PYTHON is None, reason="python3-libkdumpfile is not installed")
def test_libkdumpfile_reads_both_dumps_alike(real_dump, dump_from_save):
    ours, _ = guest_state(dump_from_save)
    found, _ = pattern.find(ours, scenario.PATTERN_PAGES, scenario.SEED)
    pfns = sorted(found.values())[:64] + [0, 1, 2]
    theirs, mine = kdumpfile_view(real_dump, pfns), kdumpfile_view(dump_from_save, pfns)
    for pfn in pfns:
        want = hashlib.sha256(ours[pfn]).hexdigest()
        assert mine["pages"][str(pfn)] == want
        assert theirs["pages"][str(pfn)] == want


@pytest.mark.parametrize("mark", ["unpaused-mark", "restored-mark"])
def test_xl_runs_the_guest_on_after_its_own_save(boot1, saved_tick, pattern_md5, mark):
    """The baseline: after xl save -p the guest unpauses, and the original save restores."""
    assert (boot1.out / mark).exists(), boot1.tail()
    start = int((boot1.out / mark).read_text())
    console = boot1.console(scenario.GUEST).encode()[start:].decode(errors="replace")
    segment = console.split("Logfile Opened")[0] if mark == "unpaused-mark" else console
    assert scenario.ran_on(segment, saved_tick, pattern_md5) is None, scenario.ran_on(
        segment, saved_tick, pattern_md5)


@pytest.mark.parametrize("output", [
    pytest.param(o, id=o.name, marks=pytest.mark.xfail(strict=True, reason=o.defect) if o.defect else ())
    for o in scenario.OUTPUTS])
def test_xl_restore_takes_output_and_guest_runs_on(outputs, boot2, saved_tick, pattern_md5, output):
    _, errors = outputs
    assert output.name not in errors, f"conversion failed: {errors.get(output.name)}"
    rc, seconds = boot2.steps[f"restore:{output.name}"]
    console = (boot2.out / f"{output.name}.console").read_text(errors="replace")
    assert rc == 0, f"xl restore exited {rc}\n{boot2.log('session.log')[-3000:]}"
    why = scenario.ran_on(console, saved_tick, pattern_md5)
    assert why is None, why


def test_hvm_boot_steps_all_succeeded(pvh_boot):
    failed = {name: rc for name, (rc, _) in pvh_boot.steps.items() if rc != 0}
    assert not failed, f"{failed}\n{pvh_boot.tail()}"


def test_real_hvm_save_is_read_and_holds_the_pattern(pvh_boot):
    save = pvh_boot.out / "pvh.save"
    done = xcformat("validate", save)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = info(save)
    assert (summary["guest"], summary["format"], summary["wrapper"]) == ("hvm", "v2", "xl")
    found, _ = pattern.find(guest_state(save)[0], scenario.PATTERN_PAGES, scenario.SEED)
    assert len(found) == scenario.PATTERN_PAGES


@pytest.mark.parametrize("target", list(scenario.CONVERSIONS))
def test_real_hvm_save_converts_and_our_reader_accepts_it(pvh_boot, tmp_path, target):
    out = tmp_path / target
    done = xcformat("convert", pvh_boot.out / "pvh.save", out, *scenario.CONVERSIONS[target],
                    "--no-progress")
    assert done.returncode == 0, done.stderr
    # A legacy HVM stream cannot be told from an old PV one by its bytes alone.
    checked = xcformat("validate", out, "--guest", "hvm")
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("restore", ["original", "xcformat"])
def test_hvm_guest_runs_on_after_xl_restore(pvh_boot, restore):
    saved_tick = int((pvh_boot.out / "saved-tick").read_text())
    md5 = scenario.original_md5(pvh_boot.console(scenario.PVH_GUEST))
    console = (pvh_boot.out / f"restore-{restore}.console").read_text(errors="replace")
    why = scenario.ran_on(console, saved_tick, md5)
    assert why is None, why
