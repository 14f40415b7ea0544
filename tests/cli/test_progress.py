"""send and receive show a progress bar on a terminal (a pseudo-terminal here), and none with
--no-progress or when standard error is not a terminal."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import time

from xcformat.synth import GuestSpec, write_legacy

CLI = [sys.executable, "-m", "xcformat"]


def on_terminal(argv: list[str], stdin: int | None = None, deadline: float = 60
                ) -> tuple[int, str]:
    """Run ``argv`` with a 100-column pseudo-terminal as its terminal (and ``stdin`` as its
    standard input, if given); (exit status, output)."""
    pid, fd = pty.fork()
    if pid == 0:                                   # the child: never returns
        fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
        if stdin is not None:
            os.dup2(stdin, 0)
        os.execv(argv[0], argv)
    out = bytearray()
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            data = os.read(fd, 65536)
        except OSError:                            # the child closed the terminal
            break
        if not data:
            break
        out.extend(data)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


def test_send_and_receive_show_progress_on_a_terminal_only(tmp_path):
    src = tmp_path / "in.img"
    write_legacy(GuestSpec(pages=4096), str(src))
    for flags, shown in (([], True), (["--no-progress"], False)):
        out = tmp_path / f"got{len(flags)}.img"
        receiver = subprocess.Popen([*CLI, "receive", "--listen", "127.0.0.1:0", str(out),
                                     "--hold", "0.1"], stderr=subprocess.PIPE, text=True)
        address = receiver.stderr.readline().split()[-1]
        code, text = on_terminal([*CLI, "send", str(src), address, *flags])
        _, err = receiver.communicate(timeout=60)
        assert code == 0 and receiver.returncode == 0
        assert (f"send {src}:" in text and "%|" in text) == shown, text
        assert "%|" not in err                     # the receiver's stderr was a pipe
        assert out.read_bytes()[:4] != b""


def test_receive_shows_progress_on_a_terminal(tmp_path):
    src, out = tmp_path / "in.img", tmp_path / "got.img"
    write_legacy(GuestSpec(pages=4096), str(src))
    with open(src, "rb") as image:
        code, text = on_terminal([*CLI, "receive", "--listen", "-", str(out)],
                                 stdin=image.fileno())
    assert code == 0, text
    assert f"receive {out}:" in text and "%|" in text
    assert out.read_bytes() == src.read_bytes()
