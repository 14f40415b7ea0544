"""Outputs that are not plain files: FIFOs and devices are written in place (and stay what they
are), the input itself is refused however it is named, a replaced file keeps its owner and mode.

Device nodes are made in the test's own directory (never under /dev); the block device is a loop
device over a file in the temp dir.
"""

import os
import pty
import shutil
import socket
import stat
import subprocess
import sys
import threading

import pytest

from xcformat import synth

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def xcformat(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "xcformat", *map(str, args)],
                          capture_output=True, cwd=ROOT, stdin=stdin, timeout=60)


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    folder = tmp_path_factory.mktemp("outputs")
    path = folder / "in.img"
    synth.write_legacy(synth.GuestSpec(pages=40, vcpus=2), path)
    reference = folder / "reference.v2"
    done = xcformat("convert", path, reference, "--to", "v2")
    assert done.returncode == 0, done.stderr
    return path, reference.read_bytes()


def drain(fifo) -> tuple[threading.Thread, bytearray]:
    """A reader of ``fifo`` in a thread: (thread, what it got by EOF)."""
    got = bytearray()

    def read():
        with open(fifo, "rb") as f:
            got.extend(f.read())
    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread, got


def node(path, kind, rdev):
    os.mknod(path, kind | 0o600, rdev)
    return path


def test_convert_into_a_fifo_writes_it_in_place(image, tmp_path):
    path, reference = image
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader, got = drain(fifo)
    done = xcformat("convert", path, fifo, "--to", "v2")
    reader.join(10)
    assert done.returncode == 0, done.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert bytes(got) == reference
    assert sorted(os.listdir(tmp_path)) == ["fifo"]      # no temporary file left beside it


@pytest.mark.parametrize("command", [["page", "--pfn", "3", "-o"], ["map", "--svg"]])
def test_page_and_map_write_into_a_fifo_in_place(image, tmp_path, command):
    path, _ = image
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader, got = drain(fifo)
    done = xcformat(command[0], path, *command[1:], fifo)
    reader.join(10)
    assert done.returncode == 0, done.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    if command[0] == "page":
        assert len(got) == 4096
    else:
        assert got.startswith(b"<svg") or got.startswith(b"<?xml")


def test_receive_into_a_fifo_writes_it_in_place(image, tmp_path):
    path, reference = image
    v2 = tmp_path / "in.v2"
    v2.write_bytes(reference)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader, got = drain(fifo)
    with open(v2, "rb") as stdin:
        done = xcformat("receive", "--listen", "-", fifo, stdin=stdin)
    reader.join(10)
    assert done.returncode == 0, done.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert bytes(got) == reference


@pytest.mark.parametrize("io", ["auto", "direct"])
def test_convert_into_a_character_device_keeps_the_node(image, tmp_path, io):
    path, _ = image
    null = node(tmp_path / "null", stat.S_IFCHR, os.makedev(1, 3))
    done = xcformat("convert", path, null, "--to", "v2", "--io", io)
    assert done.returncode == 0, done.stderr
    st = os.lstat(null)
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    assert sorted(os.listdir(tmp_path)) == ["null"]


@pytest.mark.parametrize("io", ["auto", "direct", "buffered"])
def test_convert_onto_a_block_device_writes_the_image_and_nothing_else(
        image, tmp_path, loop_device, io):
    path, reference = image
    device, before = loop_device
    ours = node(tmp_path / "disk", stat.S_IFBLK, os.stat(device).st_rdev)
    done = xcformat("convert", path, ours, "--to", "v2", "--io", io)
    assert done.returncode == 0, done.stderr
    assert stat.S_ISBLK(os.lstat(ours).st_mode)
    with open(ours, "rb") as disk:
        now = disk.read()
    assert now[:len(reference)] == reference
    assert now[len(reference):] == before[len(reference):]   # the image's bytes only
    assert len(reference) % 512                               # an unaligned end was covered


def test_direct_io_is_used_on_a_block_device(tmp_path, loop_device):
    from xcformat.io import IoMode, open_sink

    device, before = loop_device
    ours = str(node(tmp_path / "disk", stat.S_IFBLK, os.stat(device).st_rdev))
    with open_sink(ours, "direct") as sink:
        assert sink.mode is IoMode.DIRECT and sink.block >= 512
        assert os.fstat(sink._fd).st_rdev == os.stat(device).st_rdev
        sink.write(b"x" * 5000)
    with open(ours, "rb") as disk:
        now = disk.read()
    assert now[:5000] == b"x" * 5000 and now[5000:] == before[5000:]


def test_a_block_device_in_use_is_refused(image, tmp_path, loop_device):
    path, _ = image
    device, before = loop_device
    ours = node(tmp_path / "disk", stat.S_IFBLK, os.stat(device).st_rdev)
    holder = os.open(device, os.O_RDONLY | os.O_EXCL)   # as a mount holds it
    try:
        done = xcformat("convert", path, ours, "--to", "v2")
    finally:
        os.close(holder)
    assert done.returncode == 2
    assert b"block device in use" in done.stderr and b"Traceback" not in done.stderr
    with open(ours, "rb") as disk:
        assert disk.read() == before


def test_a_mounted_block_device_is_refused(image, tmp_path, attach_loop):
    if not shutil.which("mkfs.ext4"):
        pytest.skip("no mkfs.ext4")
    path, _ = image
    backing = tmp_path / "fs.img"
    backing.write_bytes(bytes(16 << 20))
    subprocess.run(["mkfs.ext4", "-q", "-F", str(backing)], check=True, capture_output=True)
    device = attach_loop(backing)
    point = tmp_path / "mnt"
    point.mkdir()
    if subprocess.run(["mount", device, str(point)], capture_output=True).returncode != 0:
        pytest.skip("cannot mount here")
    try:
        ours = node(tmp_path / "disk", stat.S_IFBLK, os.stat(device).st_rdev)
        done = xcformat("convert", path, ours, "--to", "v2")
    finally:
        subprocess.run(["umount", str(point)], check=False)
    assert done.returncode == 2 and b"block device in use" in done.stderr, done.stderr
    assert backing.read_bytes()[1024 + 0x38:1024 + 0x3a] == b"\x53\xef"   # ext4 still there


def test_a_block_device_too_small_for_the_image_is_an_environment_error(image, tmp_path,
                                                                       attach_loop):
    path, _ = image
    backing = tmp_path / "small"
    backing.write_bytes(bytes(64 << 10))
    device = attach_loop(backing)
    ours = node(tmp_path / "disk", stat.S_IFBLK, os.stat(device).st_rdev)
    done = xcformat("convert", path, ours, "--to", "v2")
    assert done.returncode == 2, done.stderr
    assert b"No space left on device" in done.stderr and b"Traceback" not in done.stderr
    assert stat.S_ISBLK(os.lstat(ours).st_mode)


def test_a_directory_and_a_socket_are_refused(image, tmp_path):
    path, _ = image
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "sock"))
        for out, why in ((tmp_path, b"is a directory"), (tmp_path / "sock", b"is a socket")):
            done = xcformat("convert", path, out, "--to", "v2")
            assert done.returncode == 2, (out, done.stderr)
            assert why in done.stderr and b"Traceback" not in done.stderr
    assert stat.S_ISSOCK(os.lstat(tmp_path / "sock").st_mode)


def test_a_terminal_is_refused():
    from xcformat.errors import EnvironmentProblem
    from xcformat.io import open_sink

    leader, follower = pty.openpty()
    try:
        # Named through /proc, where nothing can be created even by a sink that tried.
        with pytest.raises(EnvironmentProblem, match="is a terminal"):
            with open_sink(f"/proc/self/fd/{follower}") as sink:
                sink.write(b"image")
        os.set_blocking(leader, False)
        with pytest.raises(BlockingIOError):
            os.read(leader, 100)              # nothing reached the terminal
    finally:
        os.close(leader)
        os.close(follower)


# -- OUT == IN --------------------------------------------------------------------------------
def _names_for_the_input(path, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(path)
    hard = tmp_path / "hard"
    os.link(path, hard)
    return {"same path": (path, path), "symlink in": (link, path),
            "symlink out": (path, link), "hard link": (path, hard)}


@pytest.mark.parametrize("case", ["same path", "symlink in", "symlink out", "hard link"])
@pytest.mark.parametrize("target", ["v2", "core"])
def test_convert_refuses_to_write_over_its_input(image, tmp_path, case, target):
    source, _ = image
    path = tmp_path / "in.img"
    path.write_bytes(source.read_bytes())
    before = path.read_bytes()
    src, out = _names_for_the_input(path, tmp_path)[case]
    done = xcformat("convert", src, out, "--to", target)
    assert done.returncode == 2, done.stderr
    assert b"the input itself" in done.stderr and b"Traceback" not in done.stderr
    assert path.read_bytes() == before
    assert not os.path.islink(path)


def test_every_writing_command_refuses_its_input_as_output(image, tmp_path):
    source, reference = image
    path = tmp_path / "in.img"
    path.write_bytes(source.read_bytes())
    before = path.read_bytes()
    link = tmp_path / "link"
    link.symlink_to(path)
    for argv in (("page", path, "--pfn", "1", "-o", link), ("map", path, "--svg", link)):
        done = xcformat(*argv)
        assert done.returncode == 2 and b"the input itself" in done.stderr, (argv, done.stderr)
    with open(path, "rb") as stdin:          # standard input is the output file
        done = xcformat("convert", "-", link, "--to", "v2", stdin=stdin)
    assert done.returncode == 2 and b"the input itself" in done.stderr
    v2 = tmp_path / "in.v2"
    v2.write_bytes(reference)
    with open(v2, "rb") as stdin:
        done = xcformat("receive", "--listen", "-", v2, stdin=stdin)
    assert done.returncode == 2 and b"the input itself" in done.stderr
    assert v2.read_bytes() == reference
    for argv in (("convert", path, "-", "--to", "v2"), ("page", path, "--pfn", "1")):
        with open(path, "ab") as stdout:     # standard output appends to the input
            done = subprocess.run([sys.executable, "-m", "xcformat", *map(str, argv)],
                                  stdout=stdout, stderr=subprocess.PIPE, cwd=ROOT)
        assert done.returncode == 2 and b"the input itself" in done.stderr, argv
    assert path.read_bytes() == before


def test_a_replaced_output_keeps_its_owner_and_mode(image, tmp_path):
    path, _ = image
    out = tmp_path / "out"
    out.write_bytes(b"old")
    os.chmod(out, 0o600)
    if os.geteuid() == 0:
        os.chown(out, 1234, 5678)
    done = xcformat("convert", path, out, "--to", "v2")
    assert done.returncode == 0, done.stderr
    st = os.stat(out)
    assert stat.S_IMODE(st.st_mode) == 0o600
    if os.geteuid() == 0:
        assert (st.st_uid, st.st_gid) == (1234, 5678)


def test_an_output_through_a_symlink_replaces_the_file_it_names(image, tmp_path):
    path, reference = image
    real = tmp_path / "real"
    real.write_bytes(b"old")
    link = tmp_path / "link"
    link.symlink_to(real)
    done = xcformat("convert", path, link, "--to", "v2")
    assert done.returncode == 0, done.stderr
    assert os.path.islink(link) and real.read_bytes() == reference
