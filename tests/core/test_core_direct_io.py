"""Writing a dump with ``--io direct`` leaves the page cache alone: neither the input it reads
(twice: once in stream order, then its pages in pfn order), the dump, nor the scratch file that
sorts a stream's pages stays cached (the io tests' method: mincore residency)."""

from __future__ import annotations

import os

import pytest
from coredump_builders import guest_records, page, pages_of, read_all, write_dump

from xcformat.cli import main
from xcformat.io import IoMode, probe
from xcformat.io.residency import cached_bytes, evict
from xcformat.io.scratch import Scratch
from xcformat.synth import GuestSpec, expected, write_legacy

PAGES = 3072                 # 12 MiB of guest pages
LEFT_AT_MOST = 3 << 20


@pytest.fixture
def disk_dir(tmp_path):
    sample = tmp_path / "probe"
    sample.write_bytes(os.urandom(1 << 20))
    fd = os.open(sample, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        direct = probe.dio_alignment(fd)
    finally:
        os.close(fd)
    if cached_bytes(str(sample)) > 0:
        pytest.skip("this file system keeps files in memory")
    if not direct:
        pytest.skip("O_DIRECT is refused here")
    return tmp_path


def test_a_direct_dump_write_leaves_the_dump_out_of_the_page_cache(disk_dir):
    out = disk_dir / "big.core"
    pfns = list(range(PAGES))
    # Reverse batch order: the writer must sort through its scratch file.
    order = [p for start in range(PAGES - 512, -1, -512) for p in range(start, start + 512)]
    write_dump(out, guest_records(order, batch=512), io="direct")
    assert out.stat().st_size > PAGES * 4096
    assert cached_bytes(str(out)) <= LEFT_AT_MOST
    _, records = read_all(out)
    got = pages_of(records)
    assert list(got) == pfns          # sorted, every pfn once
    assert all(got[pfn] == page(pfn) for pfn in pfns)   # across several 4 MiB write chunks


def test_a_direct_convert_leaves_input_and_dump_out_of_the_page_cache(disk_dir):
    spec = GuestSpec(guest="pv", pages=PAGES, vcpus=2, live=True)
    image, dump = disk_dir / "guest.img", disk_dir / "guest.core"
    write_legacy(spec, str(image))
    evict(str(image))
    assert cached_bytes(str(image)) <= LEFT_AT_MOST
    assert main(["convert", str(image), str(dump), "--to", "core", "--io", "direct",
                 "--no-progress"]) == 0
    assert dump.stat().st_size > PAGES * 4096
    assert cached_bytes(str(image)) <= LEFT_AT_MOST
    assert cached_bytes(str(dump)) <= LEFT_AT_MOST
    got = pages_of(read_all(dump)[1])
    want = expected(spec)
    assert sorted(got) == list(want.data_pfns())
    assert all(got[pfn] == want.content(pfn) for pfn in got)


@pytest.mark.parametrize("mode", ["direct", "fadvise"])
def test_the_scratch_file_drops_what_it_wrote_and_read_back(disk_dir, mode):
    chunk = bytes(range(256)) * 4096     # 1 MiB
    with Scratch(near=str(disk_dir / "out"), mode=mode) as scratch:
        assert scratch.mode is IoMode(mode)
        for _ in range(24):
            scratch.append(chunk)
        target = memoryview(bytearray(len(chunk)))
        for i in range(24):
            scratch.read_into(i * len(chunk), target)
            assert target[:256] == chunk[:256]
        assert cached_bytes(f"/proc/self/fd/{scratch.fileno()}") <= LEFT_AT_MOST
