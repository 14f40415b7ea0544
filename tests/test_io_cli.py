"""At the command line a refused I/O mode is one line on stderr, never an EINVAL."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def xcformat(*args):
    return subprocess.run([sys.executable, "-m", "xcformat", *args], capture_output=True,
                          text=True, cwd=ROOT)


def not_an_image(directory):
    path = os.path.join(directory, "noise")
    with open(path, "wb") as f:
        f.write(b"\x93NOT AN IMAGE" * 1000)
    return path


def test_auto_on_tmpfs_says_once_what_it_uses_instead(shm_dir):
    done = xcformat("info", not_an_image(shm_dir))
    lines = done.stderr.splitlines()
    assert done.returncode == 1
    assert lines[0] == ("xcformat: /dev/shm (tmpfs): no direct I/O advertised, no uncached "
                        "(RWF_DONTCACHE) I/O; using fadvise I/O")
    assert len(lines) == 2 and "not an image" in lines[1]


def test_direct_on_a_file_system_refusing_o_direct_never_shows_einval(ramfs_dir):
    done = xcformat("validate", not_an_image(ramfs_dir), "--io", "direct")
    assert done.returncode == 1
    notices = [line for line in done.stderr.splitlines() if "O_DIRECT" in line]
    assert len(notices) == 1 and "(ramfs): O_DIRECT refused" in notices[0]
    assert "Invalid argument" not in done.stderr + done.stdout
    assert "EINVAL" not in done.stderr + done.stdout and "Traceback" not in done.stderr
