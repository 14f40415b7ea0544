"""xcformat widens the pipes it reads and writes, so a save stream crosses in batches, not in
the kernel's default 64 KiB."""

import fcntl
import os
import subprocess
import sys

from xcformat.io import pipes
from xcformat.synth import GuestSpec, legacy_bytes

F_GETPIPE_SZ = getattr(fcntl, "F_GETPIPE_SZ", 1032)
DEFAULT = 64 << 10


def test_widen_grows_a_pipe_and_leaves_a_file_alone(tmp_path):
    read, write = os.pipe()
    try:
        assert fcntl.fcntl(read, F_GETPIPE_SZ) == DEFAULT
        size = pipes.widen(read)
        assert size > DEFAULT and fcntl.fcntl(write, F_GETPIPE_SZ) == size
    finally:
        os.close(read)
        os.close(write)
    path = tmp_path / "file"
    path.write_bytes(b"x")
    with open(path, "rb") as file:
        assert pipes.widen(file.fileno()) == 0


def test_convert_widens_its_input_and_output_pipes():
    image = legacy_bytes(GuestSpec(pages=24))
    probe = ("import fcntl, sys\n"
             "from xcformat.cli import main\n"
             "code = main(sys.argv[1:])\n"
             f"print(fcntl.fcntl(0, {F_GETPIPE_SZ}), fcntl.fcntl(1, {F_GETPIPE_SZ}), "
             "file=sys.stderr)\n"
             "sys.exit(code)\n")
    done = subprocess.run([sys.executable, "-c", probe, "convert", "-", "-", "--to", "v2", "-q"],
                          input=image, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout[:4] and len(done.stdout) > len(image) // 2
    sizes = [int(n) for n in done.stderr.split()[-2:]]
    assert all(size > DEFAULT for size in sizes), sizes
