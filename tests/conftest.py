"""Shared fixtures: directories on the file systems the I/O layer must handle."""

from __future__ import annotations

import os
import subprocess
import tempfile

import pytest

from xcformat.io import notices


@pytest.fixture
def shm_dir():
    """A directory on /dev/shm (tmpfs: no advertised direct I/O, no RWF_DONTCACHE)."""
    if not os.path.isdir("/dev/shm"):
        pytest.skip("no /dev/shm")
    with tempfile.TemporaryDirectory(dir="/dev/shm", prefix="xcformat-test-") as path:
        yield path


def _mount(tmp_path, fstype: str, options: str = ""):
    if os.geteuid() != 0:
        pytest.skip(f"mounting {fstype} needs root")
    point = tmp_path / fstype
    point.mkdir()
    command = ["mount", "-t", fstype, fstype, str(point)] + (["-o", options] if options else [])
    if subprocess.run(command, capture_output=True).returncode != 0:
        pytest.skip(f"cannot mount {fstype} here")
    try:
        yield str(point)
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)


@pytest.fixture
def ramfs_dir(tmp_path):
    """A ramfs mount: it refuses O_DIRECT with EINVAL."""
    yield from _mount(tmp_path, "ramfs")


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A 256 KiB tmpfs: writes beyond that fail with ENOSPC."""
    yield from _mount(tmp_path, "tmpfs", "size=256k")


@pytest.fixture
def said():
    """The notices the I/O layer gives during a test."""
    heard: list[str] = []
    old = notices.set_handler(heard.append)
    yield heard
    notices.set_handler(old)


@pytest.fixture
def attach_loop():
    """A function making a loop block device over a backing file (in the test's temp dir);
    every device made is detached at the end of the test."""
    if os.geteuid() != 0:
        pytest.skip("loop devices need root")
    made_devices = []

    def attach(backing) -> str:
        made = subprocess.run(["losetup", "-f", "--show", str(backing)], capture_output=True,
                              text=True)
        if made.returncode != 0:
            pytest.skip("no loop device here")
        made_devices.append(made.stdout.strip())
        return made_devices[-1]
    yield attach
    for device in made_devices:
        subprocess.run(["losetup", "-d", device], check=False)


@pytest.fixture
def loop_device(tmp_path, attach_loop):
    """A loop block device over an 8 MiB file of known bytes; yields (device, bytes)."""
    backing = tmp_path / "backing"
    data = os.urandom(8 << 20)
    backing.write_bytes(data)
    yield attach_loop(backing), data
