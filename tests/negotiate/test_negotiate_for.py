"""``convert --for TARGET`` as an operator uses it: a Xen release finds its row, ``--for`` alone
means ``--to auto``, a host that restores with ``xl restore`` gets an xl save file, and a refused
choice is one line."""

from __future__ import annotations

import json

import pytest

from tests.integration.cli_runner import xcformat
from xcformat.errors import EnvironmentProblem
from xcformat.negotiate import targets
from xcformat.synth import GuestSpec, write_legacy

XL_MAGIC = b"Xen saved domain, xl format\n \0 \r"


@pytest.mark.parametrize("release, row", [
    ("xen-4.19", "xen-4.14+"), ("xen-4.14", "xen-4.14+"), ("4.17.1", "xen-4.14+"),
    ("xen-4.20-rc", "xen-4.14+"), ("xen-4.13", "xen-4.6+"), ("xen-4.6.0", "xen-4.6+"),
    ("xen-4.5", "xen-4.5"), ("xen-4.4.4", "xen-4.4"), ("xen-3.4", "xen-3.4"),
    ("xen-3.3.2", "xen-3.3"), ("xen-3.0.4", "xen-3.0"), ("XEN-4.9", "xen-4.6+"),
])
def test_a_xen_release_finds_the_row_that_holds_it(release, row):
    assert targets.get(release).name == row


@pytest.mark.parametrize("release, why", [("xen-2.0", "older than any save format"),
                                          ("xen-3.7", "not a Xen release"),
                                          ("xen-4", "unknown target")])
def test_what_is_not_a_release_with_a_row_is_refused(release, why):
    with pytest.raises(EnvironmentProblem, match=why):
        targets.get(release)


def test_every_release_from_3_0_on_has_exactly_one_row():
    releases = [(3, n) for n in range(5)] + [(4, n) for n in range(30)]
    for major, minor in releases:
        rows = [t for t in targets.TARGETS.values() if t.releases and t.releases[0] <=
                (major, minor) and (t.releases[1] is None or (major, minor) <= t.releases[1])]
        assert len(rows) == 1, (major, minor, [t.name for t in rows])


@pytest.fixture
def bare_pv(tmp_path):
    path = tmp_path / "guest.legacy"
    write_legacy(GuestSpec(pages=24, vcpus=2), path)
    return path


@pytest.mark.parametrize("release", ["xen-4.19", "xen-4.14+", "xen-4.9", "xen-4.5"])
def test_an_xl_host_gets_an_xl_save_file_from_a_bare_stream(tmp_path, bare_pv, release):
    out = tmp_path / "out"
    done = xcformat("convert", bare_pv, out, "--for", release, "--no-progress")
    assert done.code == 0, done.stderr
    assert out.read_bytes().startswith(XL_MAGIC)
    assert "the only kind xl restore reads" in done.stderr
    assert "no domain configuration: give one to xl restore" in done.stderr
    assert xcformat("validate", out).code == 0
    info = json.loads(xcformat("info", out, "--json").stdout)
    assert info["wrapper"] == "xl"
    assert info["format"] == ("legacy" if release == "xen-4.5" else "v2")


@pytest.mark.parametrize("options, said", [
    # an explicit --wrap wins
    (["--for", "xen-4.19", "--wrap", "libxc"],
     "--wrap libxc is not what xl restore reads (an xl save file)"),
    # Xen 3.0-4.4 restored with xm or xl: the bare stream is kept
    (["--for", "xen-4.0", "--width", "64"], "xm restore needs --wrap xend, xl restore --wrap xl"),
])
def test_a_bare_stream_for_a_xen_host_says_what_its_restore_needs(tmp_path, bare_pv, options,
                                                                  said):
    out = tmp_path / "out"
    done = xcformat("convert", bare_pv, out, *options, "--no-progress")
    assert done.code == 0, done.stderr
    assert said in done.stderr
    assert not out.read_bytes().startswith(XL_MAGIC)
    assert xcformat("validate", out, "--guest", "pv").code == 0


def test_to_auto_is_implied_and_neither_option_is_a_usage_error(tmp_path, bare_pv):
    assert xcformat("convert", bare_pv, tmp_path / "a", "--for", "xcformat",
                    "--no-progress").code == 0
    done = xcformat("convert", bare_pv, tmp_path / "b", "--no-progress")
    assert done.code == 2 and "needs --to FORMAT or --for TARGET" in done.stderr
    done = xcformat("convert", bare_pv, tmp_path / "c", "--to", "v2", "--for", "xen-4.19")
    assert done.code == 2 and not (tmp_path / "c").exists()


def test_a_choice_refused_for_a_reason_its_successor_shares_is_one_line(tmp_path):
    """v2-align and v2 both refuse the HVM physmap in a bare stream: said once, no file."""
    source, out = tmp_path / "hvm.legacy", tmp_path / "out"
    write_legacy(GuestSpec(guest="hvm", pages=24), source)
    done = xcformat("convert", source, out, "--for", "xen-4.19", "--wrap", "libxc",
                    "--no-progress")
    assert done.code == 1
    assert done.stderr.splitlines() == [
        f"xcformat: {source}: v2 cannot carry the toolstack physmap (it becomes "
        "EMULATOR_XENSTORE_DATA, which needs --wrap libxl or xl); pass --drop toolstack to "
        "leave it out"]
    assert not out.exists()
