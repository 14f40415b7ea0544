"""Hypothesis is an optional extra (``xcformat[testing]``): every command works without it.

Each command runs in a fresh interpreter in which importing ``hypothesis`` fails, as it does on
a machine where only ``pip install xcformat`` was run.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from xcformat.synth import sample

BLOCKED = """
import sys

class NoHypothesis:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "hypothesis":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, NoHypothesis())
"""
CLI = BLOCKED + "from xcformat.cli import main\nsys.exit(main(sys.argv[1:]))\n"


def xcformat(*args):
    return [sys.executable, "-c", CLI, *map(str, args)]


def run(*args) -> subprocess.CompletedProcess:
    done = subprocess.run(xcformat(*args), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (args, done.stderr)
    return done


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    path = tmp_path_factory.mktemp("nohypothesis") / "sample.xl"
    sample(path)
    return path


def test_the_blocker_blocks():
    done = subprocess.run([sys.executable, "-c", BLOCKED + "import xcformat.testing"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "pip install 'xcformat[testing]'" in done.stderr


def test_the_package_and_the_cli_import():
    done = subprocess.run([sys.executable, "-c", BLOCKED + "import xcformat, xcformat.cli\n"
                           "print(xcformat.open.__name__)"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and done.stdout == "open\n", done.stderr


def test_every_reading_command(image, tmp_path):
    assert '"format": "legacy"' in run("info", image, "--json").stdout
    assert "valid" in run("validate", image).stdout
    run("page", image, "--pfn", "1", "-o", tmp_path / "page1")
    assert (tmp_path / "page1").stat().st_size == 4096
    run("map", image, "--svg", tmp_path / "map.svg")
    assert (tmp_path / "map.svg").read_text().startswith("<svg")


@pytest.mark.parametrize("args", [("--to", "aligned"), ("--to", "v2", "--drop", "unmapped-pfns"),
                                  ("--to", "core"), ("--to", "auto", "--for", "xen-4.14+", "--drop", "unmapped-pfns")])
def test_convert(image, tmp_path, args):
    out = tmp_path / "out"
    run("convert", image, out, "--no-progress", *args)
    run("validate", out)


def test_send_and_receive_on_loopback(image, tmp_path):
    out = tmp_path / "received"
    receiver = subprocess.Popen(xcformat("receive", "--listen", "127.0.0.1:0", out),
                                stderr=subprocess.PIPE, text=True)
    try:
        line = receiver.stderr.readline()
        port = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        assert port, line
        run("send", image, f"127.0.0.1:{port.group(1)}")
        assert receiver.wait(timeout=60) == 0, receiver.stderr.read()
    finally:
        if receiver.poll() is None:
            receiver.kill()
        receiver.stderr.close()
    assert out.stat().st_size > 0
    run("validate", out)
