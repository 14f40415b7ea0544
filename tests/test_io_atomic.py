"""Outputs appear only complete: a failed conversion leaves nothing (and an older OUT intact),
a conversion killed with SIGKILL mid-write leaves nothing at OUT."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from xcformat.io import open_sink

WRITER = textwrap.dedent("""
    import sys
    from xcformat.io import open_sink
    with open_sink(sys.argv[1], sys.argv[2], chunk=1 << 20) as sink:
        for _ in range(64):
            sink.write(b"x" * 65536)
        sink.flush()
        print("written", flush=True)
        sys.stdin.read()          # hold here until killed
""")


@pytest.mark.parametrize("mode", ["direct", "buffered"])
@pytest.mark.parametrize("where", ["tmp", "shm"])
def test_a_conversion_killed_mid_write_leaves_no_file_at_out(tmp_path, request, where, mode):
    directory = tmp_path if where == "tmp" else request.getfixturevalue("shm_dir")
    out = os.path.join(directory, "out")
    child = subprocess.Popen([sys.executable, "-c", WRITER, out, mode], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             cwd=os.path.dirname(os.path.dirname(__file__)))
    try:
        assert child.stdout.readline() == b"written\n"
        assert os.listdir(directory) == []      # the bytes are in an unnamed O_TMPFILE
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert not os.path.exists(out)
    assert os.listdir(directory) == []


def test_a_failed_conversion_keeps_the_previous_output(tmp_path):
    out = tmp_path / "out"
    out.write_bytes(b"old image")
    with pytest.raises(ValueError):
        with open_sink(str(out), "direct") as sink:
            sink.write(b"new" * 10000)
            raise ValueError("reader found garbage")
    assert out.read_bytes() == b"old image"
    assert sorted(os.listdir(tmp_path)) == ["out"]


def test_success_replaces_the_previous_output_with_ordinary_permissions(tmp_path):
    out = tmp_path / "out"
    out.write_bytes(b"old image")
    old_umask = os.umask(0o022)
    try:
        with open_sink(str(out), "direct") as sink:
            sink.write(b"new" * 10000)
    finally:
        os.umask(old_umask)
    assert out.read_bytes() == b"new" * 10000
    assert sorted(os.listdir(tmp_path)) == ["out"]
    assert out.stat().st_mode & 0o777 == 0o644


def test_standard_output_is_written_through_in_order(tmp_path):
    # The notice goes to the xcformat logger (library code never prints), shown here as the
    # command line shows it.
    script = ("import logging, sys\nfrom xcformat.io import open_sink\n"
              "logging.basicConfig(level=logging.INFO, format='xcformat: %(message)s')\n"
              "with open_sink('-', 'direct') as sink:\n"
              "    for i in range(300):\n        sink.write(bytes([i % 256]) * 1000)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True,
                          cwd=os.path.dirname(os.path.dirname(__file__)))
    assert done.returncode == 0
    assert done.stdout == b"".join(bytes([i % 256]) * 1000 for i in range(300))
    assert done.stderr.decode().strip() == \
        "xcformat: standard output: direct I/O does not apply; using buffered I/O"
