"""The alignment probe and mode settling against real file systems."""

import fcntl
import os

from xcformat.io import IoMode, open_source, probe
from xcformat.io.modes import settle


def test_ext4_or_xfs_report_direct_io_alignment_through_statx(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x")
    fd = os.open(path, os.O_RDONLY)
    try:
        alignment = probe.dio_alignment(fd)
    finally:
        os.close(fd)
    if probe.mount_of(str(tmp_path)).fstype not in ("ext4", "xfs", "btrfs"):
        return
    assert alignment is not None and alignment.source == "statx"
    for value in (alignment.memory, alignment.offset):
        assert value >= 512 and value & (value - 1) == 0


def test_tmpfs_advertises_no_direct_io(shm_dir):
    path = os.path.join(shm_dir, "f")
    with open(path, "wb") as f:
        f.write(b"x")
    fd = os.open(path, os.O_RDONLY)
    try:
        assert probe.dio_alignment(fd) is None
        assert probe.dontcache_works(fd, write=False) is False
    finally:
        os.close(fd)
    assert probe.mount_of(path) == probe.Mount("/dev/shm", "tmpfs")


def test_write_probe_for_uncached_io_leaves_the_file_empty(tmp_path):
    fd = os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT)
    try:
        probe.dontcache_works(fd, write=True)
        assert os.fstat(fd).st_size == 0
    finally:
        os.close(fd)


def test_auto_settles_on_direct_io_where_it_is_advertised(tmp_path, said):
    path = tmp_path / "f"
    path.write_bytes(b"x")
    fd = os.open(path, os.O_RDONLY)
    try:
        advertised = probe.dio_alignment(fd)
        plan = settle(fd, str(path), "auto", write=False)
    finally:
        os.close(fd)
    if advertised:
        assert plan.mode is IoMode.DIRECT and plan.block == advertised.block and said == []


def test_auto_on_tmpfs_falls_back_with_one_notice_for_any_number_of_files(shm_dir, said):
    plans = []
    for name in ("a", "b"):
        path = os.path.join(shm_dir, name)
        fd = os.open(path, os.O_RDWR | os.O_CREAT)
        try:
            plans.append(settle(fd, path, "auto", write=True))
        finally:
            os.close(fd)
    assert [p.mode for p in plans] == [IoMode.FADVISE, IoMode.FADVISE]
    assert len(said) == 1
    assert said[0].startswith("/dev/shm (tmpfs): ") and "using fadvise I/O" in said[0]
    assert "EINVAL" not in said[0] and "Invalid argument" not in said[0]


def test_explicit_direct_on_ramfs_which_refuses_o_direct_falls_back(ramfs_dir, said):
    path = os.path.join(ramfs_dir, "f")
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        plan = settle(fd, path, "direct", write=True)
        assert not fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT
    finally:
        os.close(fd)
    assert plan.mode is not IoMode.DIRECT
    assert len(said) == 1 and "O_DIRECT refused" in said[0] and "(ramfs)" in said[0]


def test_a_pipe_is_read_buffered_and_an_explicit_mode_says_so(said):
    r, w = os.pipe()
    try:
        assert settle(r, "pipe", "auto", write=False).mode is IoMode.BUFFERED
        assert said == []
        assert settle(r, "pipe", "direct", write=False).mode is IoMode.BUFFERED
        assert said == ["pipe: not a file; using buffered I/O"]
    finally:
        os.close(r)
        os.close(w)


def test_a_block_device_reports_its_sector_size_and_reads_direct(loop_device):
    device, data = loop_device
    fd = os.open(device, os.O_RDONLY)
    try:
        assert probe.block_device_sector(fd) == 512
        assert probe.dio_alignment(fd).block >= 512
    finally:
        os.close(fd)
    with open_source(device, "auto") as src:
        assert src.mode is IoMode.DIRECT and src.size == len(data)
        assert bytes(src.read(1000, "a")) == data[:1000]
        assert bytes(src.read(len(data) - 1000, "b")) == data[1000:]
        assert src.pread(513, 100, "c") == data[513:613]
