"""``xcformat save``, ``restore`` and ``dump`` against a stand-in ``xl`` (tests/cli/fake_xl.py):
a real program behind a real pipe, writing the bytes a real Xen 4.17 wrote, or failing the
ways xl fails.  What they must show: the image appears only whole and checked, a failure names
what failed and quotes xl, and the guest is left as the message says."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from tests.integration.cli_runner import xcformat
from xcformat.cli.xl import find
from tests.xen.fixtures import ARCHIVE

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def real(tmp_path_factory) -> dict[str, Path]:
    """The real save and dump of tests/fixtures/real, decompressed."""
    directory = tmp_path_factory.mktemp("real")
    with tarfile.open(ARCHIVE) as tar:
        tar.extractall(directory, filter="data")
    return {"save": directory / "guest.save", "core": directory / "guest.core"}


class FakeXl:
    """The stand-in's program, state and log."""

    def __init__(self, home: Path, real: dict[str, Path], monkeypatch):
        self.home = home
        self.program = home / "xl"
        self.program.write_text(f"#!{sys.executable}\n" + (HERE / "fake_xl.py").read_text())
        self.program.chmod(0o755)
        monkeypatch.setenv("FAKE_XL_DIR", str(home))
        monkeypatch.setenv("FAKE_XL_SAVE", str(real["save"]))
        monkeypatch.setenv("FAKE_XL_CORE", str(real["core"]))
        monkeypatch.delenv("FAKE_XL", raising=False)
        self.monkeypatch = monkeypatch
        (home / "state").write_text("-b----")           # a guest, running

    def mode(self, name: str) -> None:
        self.monkeypatch.setenv("FAKE_XL", name)

    @property
    def calls(self) -> list[str]:
        log = self.home / "log"
        return log.read_text().splitlines() if log.exists() else []

    @property
    def guest(self) -> str:
        """The guest's flags, or "gone"."""
        path = self.home / "state"
        return path.read_text() if path.exists() else "gone"


@pytest.fixture
def xl(tmp_path, real, monkeypatch) -> FakeXl:
    home = tmp_path / "xl"
    home.mkdir()
    return FakeXl(home, real, monkeypatch)


@pytest.fixture
def out(tmp_path) -> Path:
    directory = tmp_path / "out"
    directory.mkdir()
    return directory


def run(xl: FakeXl, *args, timeout: int = 120):
    return xcformat(*args, "--xl", xl.program, "--no-progress", timeout=timeout)


def converted(real: dict[str, Path], tmp_path: Path, *options: str) -> bytes:
    """What ``xcformat convert`` makes of the real save: what save must write too."""
    target = tmp_path / "expected"
    done = xcformat("convert", real["save"], target, *options, timeout=120)
    assert done.code == 0, done.stderr
    data = target.read_bytes()
    target.unlink()
    return data


# -- save -------------------------------------------------------------------------------------
def test_save_writes_the_aligned_image_convert_would_and_destroys_the_guest(xl, out, real,
                                                                             tmp_path):
    image = out / "guest.img"
    done = run(xl, "save", "xcguest", image, "--json")
    assert done.code == 0, done.stderr
    assert image.read_bytes() == converted(real, tmp_path, "--to", "aligned")
    assert xl.calls[0].startswith("save -p xcguest /dev/fd/")
    assert "destroy xcguest" in xl.calls and xl.guest == "gone"
    summary = json.loads(done.stdout)
    assert (summary["format"], summary["input_format"], summary["guest"]) == \
        ("aligned", "v2", "destroyed")
    assert "the guest is destroyed, as xl save does" in done.stderr
    assert os.listdir(out) == ["guest.img"]


@pytest.mark.parametrize("flag, calls, flags, said", [
    ("-p", [], "--p---", "the guest is paused in the saved state"),
    ("-c", ["unpause xcguest"], "-b----", "the guest is running on"),
])
def test_save_leaves_the_guest_paused_or_running_when_asked(xl, out, flag, calls, flags, said):
    done = run(xl, "save", flag, "xcguest", out / "guest.img")
    assert done.code == 0, done.stderr
    assert [c for c in xl.calls[1:] if not c.startswith("list")] == calls
    assert xl.guest == flags and said in done.stderr


def test_save_to_v2_in_an_xl_file_is_xls_own_stream_byte_for_byte(xl, out, real):
    image = out / "guest.xl"
    done = run(xl, "save", "-p", "xcguest", image, "--to", "v2", "--wrap", "xl")
    assert done.code == 0, done.stderr
    assert image.read_bytes() == real["save"].read_bytes()


def test_save_passes_the_config_file_to_xl(xl, out, tmp_path):
    config = tmp_path / "guest.cfg"
    config.write_text('name = "xcguest"\n')
    assert run(xl, "save", "-p", "xcguest", out / "guest.img", config).code == 0
    assert xl.calls[0].endswith(f" {config}")


@pytest.mark.parametrize("mode, quoted, guest", [
    ("no-domain", "xcguest is an invalid domain identifier", "gone"),
    ("save-fails-midway", "Failed to save domain, resuming domain", "running"),
    ("save-fails-at-end", "Failed to save domain, resuming domain", "running"),
])
def test_a_failed_xl_save_is_quoted_and_leaves_no_image(xl, out, mode, quoted, guest):
    xl.mode(mode)
    done = run(xl, "save", "xcguest", out / "guest.img")
    assert done.code == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("xcformat: xl save -p xcguest <pipe> failed (exited 1): ")
    assert quoted in last
    assert f"nothing written at {out / 'guest.img'}; the guest xcguest is {guest}" \
        in done.stderr
    assert os.listdir(out) == []
    assert "destroy xcguest" not in xl.calls
    assert "Traceback" not in done.stderr


def test_a_stream_cut_short_by_a_successful_xl_leaves_the_guest_running(xl, out):
    """xl said it saved, but the stream is short: xcformat's reader is the one that knows, and
    the guest, paused by -p, is set running again."""
    xl.mode("save-short")
    done = run(xl, "save", "xcguest", out / "guest.img")
    assert done.code == 1
    assert "the guest xcguest is running" in done.stderr
    assert "unpause xcguest" in xl.calls and xl.guest == "-b----"
    assert os.listdir(out) == []
    assert "xl save -p xcguest <pipe> failed" not in done.stderr


def test_a_save_that_cannot_write_is_xcformats_error_and_xl_resumes_the_guest(xl, tmp_path):
    image = tmp_path / "missing-directory" / "guest.img"
    done = run(xl, "save", "xcguest", image)
    assert done.code == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"xcformat: {image}: cannot create output")
    assert "Failed to save domain, resuming domain" in done.stderr   # xl's side, as a note
    assert "the guest xcguest is running" in done.stderr and xl.guest == "-b----"


def test_a_killed_save_leaves_no_image_and_xl_resumes_the_guest(xl, out):
    xl.mode("slow")
    image = out / "guest.img"
    command = [sys.executable, "-m", "xcformat", "save", "xcguest", str(image), "--xl",
               str(xl.program)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not xl.calls and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    deadline = time.monotonic() + 60
    while xl.guest != "-b----" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert xl.guest == "-b----", "xl did not resume the guest when its reader died"
    assert not image.exists() and os.listdir(out) == []


@pytest.mark.parametrize("argv, message", [
    (["save", "xcguest", "-"], "IMAGE: xl opens it itself"),
    (["save", "xcguest", "{out}/g.img", "-"], "CONFIG: xl opens it itself"),
    (["restore", "{out}/g.img", "-"], "CONFIG: xl opens it itself"),
    (["dump", "xcguest", "-"], "CORE: a core dump is checked by reading it back"),
])
def test_dash_is_refused_where_a_file_is_needed(xl, out, argv, message):
    done = run(xl, *[a.format(out=out) for a in argv])
    assert done.code == 2 and message in done.stderr, done.stderr
    assert xl.calls == []


@pytest.mark.parametrize("command", [["save", "xcguest", "{out}/g.img"], ["restore", "{out}/g"],
                                     ["dump", "xcguest", "{out}/g.core"]])
def test_a_missing_xl_is_an_environment_error(out, command):
    done = xcformat(*[a.format(out=out) for a in command], "--xl", out / "no-such-xl")
    assert done.code == 2
    assert f"{out / 'no-such-xl'}: xl not found there" in done.stderr
    assert "--xl PATH names it" in done.stderr


# -- restore ----------------------------------------------------------------------------------
@pytest.fixture
def aligned(real, tmp_path) -> Path:
    path = tmp_path / "guest.aligned"
    path.write_bytes(converted(real, tmp_path, "--to", "aligned"))
    return path


def test_restore_feeds_xl_the_v2_xl_file_of_this_hosts_xen(xl, aligned, real, tmp_path):
    xl.home.joinpath("state").unlink()                # no guest until it is restored
    done = run(xl, "restore", aligned, "--json")
    assert done.code == 0, done.stderr
    assert xl.calls[0] == "info"
    assert xl.calls[1].startswith("restore /dev/fd/")
    restored = xl.home / "restored"
    assert restored.read_bytes() == converted(real, tmp_path, "--to", "v2", "--wrap", "xl")
    checked = xcformat("validate", restored)
    assert checked.code == 0, checked.stdout
    summary = json.loads(done.stdout)
    assert (summary["target"], summary["fed_as"], summary["paused"]) == ("xen-4.17", "v2", False)
    assert "--for xen-4.17 (xen-4.14+): not v2-align: xl restore reads the pipe in order" \
        in done.stderr
    assert xl.guest == "-b----" and "the guest is running" in done.stderr


def test_restore_paused_with_a_config_and_an_older_release(xl, aligned, tmp_path):
    config = tmp_path / "guest.cfg"
    config.write_text('name = "xcguest"\n')
    refused = run(xl, "restore", aligned, config, "--for", "xen-4.10")
    assert refused.code == 1 and "pass --drop cpu-policy" in refused.stderr
    xl.home.joinpath("log").unlink()
    done = run(xl, "restore", aligned, config, "-p", "--for", "xen-4.10", "--drop", "cpu-policy")
    assert done.code == 0, done.stderr
    assert xl.calls[0].startswith(f"restore -p {config} /dev/fd/")   # no xl info: --for said
    assert xl.guest == "--p---"
    restored = json.loads(xcformat("info", xl.home / "restored", "--json").stdout)
    assert (restored["wrapper"], restored["stream_version"]) == ("xl", 2)   # 4.6-4.13 read 2


def test_restore_reads_standard_input(xl, aligned, tmp_path):
    command = [sys.executable, "-m", "xcformat", "restore", "-", "--xl", str(xl.program)]
    with open(aligned, "rb") as stdin:
        done = subprocess.run(command, stdin=stdin, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert xcformat("validate", xl.home / "restored").code == 0


def test_the_host_release_comes_from_dom0s_sysfs_without_running_xl(xl, tmp_path):
    version = tmp_path / "version"
    version.mkdir()
    (version / "major").write_text("4\n")
    (version / "minor").write_text("19\n")
    assert find(str(xl.program)).host_release(sysfs=str(version)) == "xen-4.19"
    assert xl.calls == []


def test_without_sysfs_the_host_release_is_what_xl_info_says(xl, tmp_path):
    assert find(str(xl.program)).host_release(sysfs=str(tmp_path / "none")) == "xen-4.17"
    assert xl.calls == ["info"]


def test_restore_where_xl_cannot_tell_the_release_asks_for_it(xl, aligned, monkeypatch):
    monkeypatch.setenv("FAKE_XL", "no-hypervisor")
    done = run(xl, "restore", aligned)
    assert done.code == 2
    assert "cannot tell this host's Xen release (xl info failed (exited 1): ERROR:  Can't find " \
        "hypervisor information in sysfs!); is this a Xen dom0?" in done.stderr
    assert "--for names the release" in done.stderr and xl.calls == ["info"]


def test_a_refused_restore_quotes_xl(xl, aligned):
    xl.mode("restore-refuses")
    done = run(xl, "restore", aligned)
    assert done.code == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("xcformat: xl restore <pipe> failed (exited 3): ")
    assert "domain with name xcguest already exists" in last
    assert "the reader closed the pipe" in done.stderr     # what xcformat saw, as a note


def test_a_damaged_image_is_xcformats_error_and_xls_failure_a_note(xl, aligned, tmp_path):
    damaged = tmp_path / "damaged"
    data = bytearray(aligned.read_bytes())
    damaged.write_bytes(data[:len(data) // 2])
    done = run(xl, "restore", damaged)
    assert done.code == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"xcformat: {damaged}: ") and "xl restore" not in last
    assert "File has wrong magic number" not in last


# -- dump -------------------------------------------------------------------------------------
def test_dump_via_save_writes_the_core_convert_would_and_the_guest_runs_on(xl, out, real,
                                                                         tmp_path):
    core = out / "guest.core"
    done = run(xl, "dump", "xcguest", core, "--json")
    assert done.code == 0, done.stderr
    assert core.read_bytes() == converted(real, tmp_path, "--to", "core")
    assert stat.S_IMODE(core.stat().st_mode) == 0o600
    assert xl.calls[0].startswith("save -p xcguest /dev/fd/")
    assert "unpause xcguest" in xl.calls and xl.guest == "-b----"
    assert json.loads(done.stdout)["via"] == "save"
    assert "dumped xcguest to " in done.stderr and "the guest is running on" in done.stderr


def test_dump_of_a_guest_that_cannot_be_saved_quotes_xl_and_leaves_it_running(xl, out):
    xl.mode("save-fails-midway")
    done = run(xl, "dump", "xcguest", out / "guest.core")
    assert done.code == 1
    assert "Failed to save domain, resuming domain" in done.stderr.splitlines()[-1]
    assert "the guest xcguest is running" in done.stderr and os.listdir(out) == []


def test_dump_copies_xls_dump_byte_for_byte_for_its_owner_only(xl, out, real):
    core = out / "guest.core"
    done = run(xl, "dump", "xcguest", core, "--via", "dump-core", "--json")
    assert done.code == 0, done.stderr
    assert core.read_bytes() == real["core"].read_bytes()
    assert stat.S_IMODE(core.stat().st_mode) == 0o600
    assert xl.calls[0].startswith("dump-core xcguest /dev/fd/")
    assert json.loads(done.stdout)["size"] == real["core"].stat().st_size
    assert "the guest is running" in done.stderr


def test_a_dump_of_no_guest_quotes_xl(xl, out):
    xl.mode("no-domain")
    done = run(xl, "dump", "xcguest", out / "guest.core", "--via", "dump-core")
    assert done.code == 1
    assert "xl dump-core xcguest <pipe> failed (exited 1): xcguest is an invalid domain" \
        in done.stderr
    assert os.listdir(out) == []


def test_a_dump_that_cannot_be_written_stops_xl_which_would_wait_for_ever(xl, tmp_path):
    xl.mode("dump-hangs")
    core = tmp_path / "missing-directory" / "guest.core"
    start = time.monotonic()
    done = run(xl, "dump", "xcguest", core, "--via", "dump-core", timeout=60)
    assert done.code == 2 and f"{core}: cannot create output" in done.stderr
    assert time.monotonic() - start < 30


def test_a_dump_xl_cuts_short_is_not_published(xl, out, real, monkeypatch):
    short = out.parent / "short.core"
    short.write_bytes(real["core"].read_bytes()[:50 << 20])
    monkeypatch.setenv("FAKE_XL_CORE", str(short))
    core = out / "guest.core"
    done = run(xl, "dump", "xcguest", core, "--via", "dump-core")
    assert done.code == 1, done.stderr
    assert "guest.core not written: the core image would fail xcformat's own check" \
        in done.stderr
    assert not core.exists()


def test_the_shell_completes_the_new_commands_and_their_files(tmp_path):
    from tests.cli.test_man_and_completion import bash_complete

    script = tmp_path / "xcformat.bash"
    done = subprocess.run([sys.executable, "-m", "xcformat", "completion", "bash"],
                          capture_output=True, text=True, timeout=60)
    script.write_text(done.stdout)
    assert bash_complete(script, "xcformat", "sa") == ["save"]
    assert bash_complete(script, "xcformat", "res") == ["restore"]
    assert {"--checkpoint", "--pause", "--to", "--xl"} <= set(
        bash_complete(script, "xcformat", "save", "--"))
    assert bash_complete(script, "xcformat", "save", "--to", "al") == ["aligned"]
