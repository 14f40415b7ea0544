"""``xcformat send`` / ``receive`` as processes: pairs over TCP and pipes, killed peers, timeouts.

The processes run ``tests/toypeer.py`` (the CLI with the toy formats); every wait has a deadline.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from tests.negotiate import toyformats
from tests.negotiate.netpeers import DEADLINE, old_receiver, server

PEER = [sys.executable, str(Path(__file__).with_name("toypeer.py"))]
_pool = ThreadPoolExecutor(max_workers=2)


def start(*args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([*PEER, *args], stderr=subprocess.PIPE, **kwargs)


def start_receiver(out: Path, *args) -> tuple[subprocess.Popen, str]:
    proc = start("receive", "--listen", "127.0.0.1:0", str(out), "--hold", "0.1", *args)
    line = _pool.submit(proc.stderr.readline).result(DEADLINE).decode()
    assert line.startswith("xcformat: listening on "), line
    return proc, line.split()[-1]


def finish(proc: subprocess.Popen) -> tuple[int, str]:
    _, err = proc.communicate(timeout=DEADLINE)
    err = err.decode()
    assert "Traceback" not in err, err
    return proc.returncode, err


def wait_for_output(receiver: subprocess.Popen, directory: Path, at_least: int) -> None:
    """Until the receiver's unpublished output holds ``at_least`` bytes (it is mid-stream).

    The output is found among the receiver's open files (a hidden or an O_TMPFILE file in
    ``directory``), whatever way the I/O layer writes it.
    """
    deadline = time.monotonic() + DEADLINE
    fds = Path(f"/proc/{receiver.pid}/fd")
    while time.monotonic() < deadline:
        for fd in fds.iterdir():
            try:
                if os.readlink(fd).startswith(str(directory)) and fd.stat().st_size >= at_least:
                    return
            except OSError:
                pass                  # closed meanwhile
        time.sleep(0.02)
    raise AssertionError("the receiver never got going")


@functools.cache
def big_image() -> bytes:
    """A toy image bigger than what the I/O layer gathers before writing (8 MiB), fed in
    halves."""
    return toyformats.image("legacy", 12288)


def test_a_sender_and_a_receiver_negotiate_aligned(tmp_path):
    src = tmp_path / "in"
    src.write_bytes(toyformats.image("legacy", 50))
    out = tmp_path / "got"
    receiver, address = start_receiver(out)
    sender = start("send", str(src), address)
    assert finish(sender)[0] == 0
    code, err = finish(receiver)
    assert code == 0 and "negotiated aligned" in err
    assert out.read_bytes()[:8] == toyformats.MAGICS["aligned"]


@pytest.mark.parametrize("to, magic", [("legacy", "legacy"), ("aligned", "aligned")])
def test_through_a_pipe_the_sender_writes_what_to_says(tmp_path, to, magic):
    original = toyformats.image("legacy", 20)
    src = tmp_path / "in"
    src.write_bytes(original)
    out = tmp_path / "got"
    sender = start("send", str(src), "-", "--to", to, stdout=subprocess.PIPE)
    receiver = start("receive", "--listen", "-", str(out), stdin=sender.stdout)
    sender.stdout.close()
    assert finish(sender)[0] == 0 and finish(receiver)[0] == 0
    got = out.read_bytes()
    assert got[:8] == toyformats.MAGICS[magic]
    assert to != "legacy" or got == original


def test_an_old_receiver_gets_the_legacy_bytes_from_the_command(tmp_path):
    original = toyformats.image("legacy", 20, seed=3)
    src = tmp_path / "in"
    src.write_bytes(toyformats.image("aligned", 20, seed=3))
    srv, address = server()
    reading = old_receiver(srv)
    code, err = finish(start("send", str(src), address, "--wait", "0.3"))
    assert code == 0 and "did not greet" in err
    assert reading.result(DEADLINE) == original


def test_a_sender_killed_mid_stream_leaves_no_file(tmp_path):
    image = big_image()
    out = tmp_path / "got"
    receiver, address = start_receiver(out)
    sender = start("send", "-", address, stdin=subprocess.PIPE)
    sender.stdin.write(image[:len(image) // 2])
    sender.stdin.flush()
    wait_for_output(receiver, tmp_path, 1 << 20)
    sender.send_signal(signal.SIGKILL)
    sender.wait(DEADLINE)
    code, err = finish(receiver)
    assert code == 1 and "offset" in err
    assert list(tmp_path.iterdir()) == []


def test_a_receiver_killed_mid_stream_fails_the_sender_with_a_clear_message(tmp_path):
    image = big_image()
    out = tmp_path / "got"
    receiver, address = start_receiver(out)
    sender = start("send", "-", address, stdin=subprocess.PIPE)
    sender.stdin.write(image[:len(image) // 2])
    sender.stdin.flush()
    wait_for_output(receiver, tmp_path, 1 << 20)
    receiver.send_signal(signal.SIGKILL)
    receiver.wait(DEADLINE)
    try:
        sender.stdin.write(image[len(image) // 2:])
        sender.stdin.close()
    except BrokenPipeError:
        pass                                         # the sender gave up already: fine
    code, err = finish(sender)
    assert code == 1 and "hung up" in err, err
    assert not out.exists()


def test_a_receiver_nobody_connects_to_gives_up(tmp_path):
    receiver, _ = start_receiver(tmp_path / "got", "--timeout", "0.5")
    code, err = finish(receiver)
    assert code == 1 and "no sender connected within 0.5 s" in err
    assert list(tmp_path.iterdir()) == []


def test_sending_to_a_closed_port_fails_cleanly(tmp_path):
    src = tmp_path / "in"
    src.write_bytes(toyformats.image("legacy", 1))
    srv, address = server()
    srv.close()
    code, err = finish(start("send", str(src), address, "--timeout", "2"))
    assert code == 2 and "cannot connect" in err


@pytest.mark.parametrize("args, message", [
    (("send", "in", "nohost"), "not HOST:PORT"),
    (("send", "in", "127.0.0.1:1", "--offer", "aligned,zip"), "unknown zip"),
    (("send", "in", "127.0.0.1:1", "--wait", "0"), "invalid seconds value"),
])
def test_usage_errors_exit_2(tmp_path, args, message):
    (tmp_path / "in").write_bytes(toyformats.image("legacy", 1))
    proc = start(*args, cwd=tmp_path)
    code, err = finish(proc)
    assert code == 2 and message in err, err

