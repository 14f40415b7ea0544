"""A write that fails shows its real cause: a full disk, a reader that left the pipe, an input
that shrinks while it is read, SIGINT in the page phase.  Exit 2 (environment), 1 (the input)
or 130 (interrupted), one line, never a traceback, nothing left at OUT; for every writer and
for send/receive."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from xcformat import synth
from xcformat.io import source as source_module

from .cli_runner import xcformat

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WRITERS = ("legacy", "v2", "aligned", "core")
#: Past the sink's gathered chunks in flight, so a write error surfaces in the page phase.
PAGES = 9000


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    folder = tmp_path_factory.mktemp("failures")
    path = folder / "big.img"
    synth.write_legacy(synth.GuestSpec(pages=PAGES, vcpus=2), path)
    v2 = folder / "big.v2"
    assert xcformat("convert", path, v2, "--to", "v2", "--no-progress").code == 0
    return path, v2


def run(*args, **kw):
    return subprocess.run([sys.executable, "-m", "xcformat", *map(str, args)], cwd=ROOT,
                          capture_output=True, timeout=120, **kw)


def one_clean_line(stderr: str, *, mentions: str) -> None:
    assert "Traceback" not in stderr and "BufferError" not in stderr
    errors = [line for line in stderr.splitlines() if mentions in line]
    assert len(errors) == 1, stderr


def _copy(big, tmp_path):
    path = tmp_path / "in.img"
    path.write_bytes(big[0].read_bytes())
    return path


@pytest.mark.parametrize("target", WRITERS)
def test_a_full_disk_is_an_environment_error(big, tiny_tmpfs, target):
    out = os.path.join(tiny_tmpfs, "out")
    result = xcformat("convert", big[0], out, "--to", target, "--no-progress")
    assert result.code == 2, result.stderr
    one_clean_line(result.stderr, mentions="No space left on device")
    assert os.listdir(tiny_tmpfs) == []


@pytest.mark.parametrize("target", WRITERS)
def test_a_reader_that_leaves_the_pipe_ends_it_in_one_line(big, target):
    child = subprocess.Popen([sys.executable, "-m", "xcformat", "convert", str(big[0]), "-",
                              "--to", target], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    child.stdout.read(100)                 # | head -c 100
    child.stdout.close()
    stderr = child.stderr.read().decode()
    assert child.wait(60) == 2, stderr
    one_clean_line(stderr, mentions="the reader closed the pipe")


def test_text_output_to_a_closed_pipe_ends_quietly(big):
    # Megabytes of JSON: far more than the pipe holds, so the writer meets the closed end.
    child = subprocess.Popen([sys.executable, "-m", "xcformat", "map", str(big[0]), "--json",
                              "--all"], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    child.stdout.read(10)
    child.stdout.close()
    stderr = child.stderr.read().decode()
    assert child.wait(60) == 2
    assert stderr == ""


def _after(monkeypatch, method: str, action, *, past: int = 0):
    """Run ``action`` once, the first time ``Source.<method>`` is called beyond ``past`` bytes
    into the input (``_read_into``: the sequential read; ``pread_into``: a read-back)."""
    original = getattr(source_module.Source, method)
    done = []

    def hooked(self, *args):
        if not done and self.name.endswith("in.img") and self.offset >= past:
            done.append(True)
            action(self)
        return original(self, *args)
    monkeypatch.setattr(source_module.Source, method, hooked)


def _shrink(source) -> None:
    os.truncate(source.name, os.stat(source.name).st_size // 2)


def _interrupt(source) -> None:
    os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.parametrize("target", WRITERS)
@pytest.mark.parametrize("event, code, mentions", [
    (_shrink, 1, "input ends"),            # invalid input, naming the file
    (_interrupt, 130, "interrupted"),
], ids=["input-shrinks", "sigint"])
def test_a_failure_in_the_page_phase_shows_its_cause(big, tmp_path, monkeypatch, target, event,
                                                      code, mentions):
    path = _copy(big, tmp_path)
    # The core writer reads the pages back from the input after the whole first pass.
    method = "pread_into" if target == "core" else "_read_into"
    _after(monkeypatch, method, event, past=0 if target == "core" else 4 << 20)
    result = xcformat("convert", path, tmp_path / "out", "--to", target, "--no-progress")
    assert result.code == code, result.stderr
    one_clean_line(result.stderr, mentions=mentions)
    if code == 1:
        assert str(path) in result.stderr
    assert sorted(os.listdir(tmp_path)) == ["in.img"]


# -- send and receive -------------------------------------------------------------------------
def test_receive_onto_a_full_disk_is_an_environment_error(big, tiny_tmpfs):
    with open(big[1], "rb") as stdin:
        done = run("receive", "--listen", "-", os.path.join(tiny_tmpfs, "out"), stdin=stdin)
    assert done.returncode == 2, done.stderr
    one_clean_line(done.stderr.decode(), mentions="No space left on device")
    assert os.listdir(tiny_tmpfs) == []


def test_receive_into_a_closed_pipe_is_one_line(big):
    with open(big[1], "rb") as stdin:
        child = subprocess.Popen([sys.executable, "-m", "xcformat", "receive", "--listen", "-",
                                  "-"], cwd=ROOT, stdin=stdin, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
        child.stdout.read(100)
        child.stdout.close()
        stderr = child.stderr.read().decode()
        assert child.wait(60) == 2, stderr
    one_clean_line(stderr, mentions="the reader closed the pipe")


def test_send_into_a_closed_pipe_is_one_line(big):
    child = subprocess.Popen([sys.executable, "-m", "xcformat", "send", str(big[0]), "-"],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdout.read(100)
    child.stdout.close()
    stderr = child.stderr.read().decode()
    assert child.wait(60) == 1, stderr       # the peer hung up: a peer error
    one_clean_line(stderr, mentions="hung up")


def test_send_of_an_input_that_shrinks_is_invalid_input(big, tmp_path, monkeypatch):
    path = _copy(big, tmp_path)
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        _after(monkeypatch, "_read_into", _shrink, past=4 << 20)

        def swallow():
            sock, _ = server.accept()
            # The sender resets the connection when its own input fails.
            with sock, contextlib.suppress(ConnectionResetError):
                while sock.recv(1 << 16):
                    pass
        thread = threading.Thread(target=swallow, daemon=True)
        thread.start()
        result = xcformat("send", path, f"127.0.0.1:{port}", "--wait", "0.2")
        thread.join(10)
    assert result.code == 1, result.stderr
    one_clean_line(result.stderr, mentions="input ends")


def _listening_child(argv) -> tuple[subprocess.Popen, str]:
    child = subprocess.Popen([sys.executable, "-m", "xcformat", *map(str, argv)], cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return child, child.stderr.readline()


def test_sigint_stops_send_and_receive_with_130(big, tmp_path):
    # A receiver that is sent nothing, interrupted while it waits.
    receiver, said = _listening_child(["receive", "--listen", "127.0.0.1:0", tmp_path / "out"])
    port = int(said.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)):
        time.sleep(0.8)                      # past the greeting
        receiver.send_signal(signal.SIGINT)
        rest = receiver.stderr.read()
        assert receiver.wait(20) == 130, said + rest
    one_clean_line(said + rest, mentions="interrupted")
    assert not (tmp_path / "out").exists()
    # A sender whose receiver stops reading, interrupted in the page phase.
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        sender = subprocess.Popen([sys.executable, "-m", "xcformat", "send", str(big[0]),
                                   f"127.0.0.1:{port}", "--wait", "0.2"], cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        sock, _ = server.accept()
        with sock:
            sock.recv(1 << 16)
            time.sleep(1.0)                  # the sender blocks: our window is full
            sender.send_signal(signal.SIGINT)
            stderr = sender.stderr.read()
            assert sender.wait(20) == 130, stderr
    one_clean_line(stderr, mentions="interrupted")
