"""Direct, uncached and fadvise I/O leave (almost) nothing of the file in the page cache;
buffered I/O, the control, leaves it all (so the measurement can tell the difference)."""

import os

import pytest

from xcformat.io import IoMode, aligned_buffer, open_sink, open_source, probe
from xcformat.io.residency import cached_bytes, evict

SIZE = 24 << 20
LEFT_AT_MOST = 2 << 20
DATA = os.urandom(1 << 20)


def modes_here(path) -> list[str]:
    """The modes the file system under ``path`` takes as asked (no fallback)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        modes = ["fadvise"]
        if probe.dio_alignment(fd):
            modes.append("direct")
        if probe.dontcache_works(fd, write=False):
            modes.append("uncached")
        return modes
    finally:
        os.close(fd)


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    path = tmp_path_factory.mktemp("cache") / "image"
    with open(path, "wb") as f:
        for _ in range(SIZE // len(DATA)):
            f.write(DATA)
    evict(path)
    if cached_bytes(str(path)) > LEFT_AT_MOST:
        pytest.skip("this file system keeps files in memory")
    return path


@pytest.mark.parametrize("mode", ["direct", "uncached", "fadvise", "buffered"])
def test_writing_leaves_little_in_the_page_cache(image, mode):
    if mode != "buffered" and mode not in modes_here(image):
        pytest.skip(f"{mode} I/O not available here")
    out = image.parent / f"out-{mode}"
    with open_sink(str(out), mode, chunk=1 << 20) as sink:
        for _ in range(SIZE // len(DATA)):
            sink.write(DATA)
    assert sink.mode is IoMode(mode)
    if mode == "buffered":
        assert cached_bytes(str(out)) > SIZE // 2
    else:
        assert cached_bytes(str(out)) <= LEFT_AT_MOST


@pytest.mark.parametrize("mode", ["direct", "uncached", "fadvise", "buffered"])
def test_reading_leaves_little_in_the_page_cache(image, mode):
    if mode != "buffered" and mode not in modes_here(image):
        pytest.skip(f"{mode} I/O not available here")
    evict(image)
    with open_source(str(image), mode, window=1 << 20) as src:
        assert src.mode is IoMode(mode)
        for piece in src.chunks(SIZE, "all", step=1 << 20):
            assert piece[:16] == DATA[:16]
    if mode == "buffered":
        assert cached_bytes(str(image)) > SIZE // 2
        evict(image)
    else:
        assert cached_bytes(str(image)) <= LEFT_AT_MOST


@pytest.mark.parametrize("mode", ["direct", "uncached", "fadvise", "buffered"])
def test_reading_at_offsets_leaves_little_in_the_page_cache(image, mode):
    if mode != "buffered" and mode not in modes_here(image):
        pytest.skip(f"{mode} I/O not available here")
    evict(image)
    piece = 1 << 20
    with open_source(str(image), mode, window=1 << 20) as src:
        # Backwards, at offsets that are not block-aligned (direct I/O bounces them) and at
        # aligned ones into aligned memory (read straight).
        for at in range(SIZE - piece - 100, 0, -piece):
            target = memoryview(bytearray(piece))
            src.pread_into(at, target, "piece")
            assert target == DATA[at % len(DATA):] + DATA[:at % len(DATA)]
        with aligned_buffer(piece) as memory:
            target = memoryview(memory)
            src.pread_into(piece, target, "piece")
            assert target == DATA
            target.release()
    if mode == "buffered":
        assert cached_bytes(str(image)) > SIZE // 2
        evict(image)
    else:
        assert cached_bytes(str(image)) <= LEFT_AT_MOST
