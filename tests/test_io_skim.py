"""Skimming: a re-read of a file just written jumps over its page data, in every I/O mode.

The check that reads a conversion's output back before it is published sets ``skim``: it must
read the structures around the pages and not the pages, with direct I/O too (where each read
starts on a block boundary), or the check costs a second pass over the whole image.
"""

from __future__ import annotations

import os

import pytest

from xcformat.errors import TruncatedError
from xcformat.io import IoMode, open_source

PAGES = 2 << 20            # well past the source's read-ahead, so the pages are not in its window
HEAD = 4096
TRAILER = b"TRAILER!" * 8


def image(tmp_path, unaligned_tail: int) -> tuple[str, int]:
    """A file of a 4 KiB header, page data (``unaligned_tail`` bytes past a 4 KiB multiple) and
    a trailer; (its path, the page data's length)."""
    pages = PAGES + unaligned_tail
    path = tmp_path / "image"
    path.write_bytes(b"H" * HEAD + os.urandom(pages) + TRAILER)
    return str(path), pages


@pytest.fixture
def bytes_read(monkeypatch) -> list[int]:
    """The byte counts of every read the source makes (os.readv and os.preadv, as it calls
    them), the real reads being done."""
    counts: list[int] = []
    for name in ("readv", "preadv"):
        real = getattr(os, name)

        def counted(*args, _real=real):
            got = _real(*args)
            counts.append(got)
            return got

        monkeypatch.setattr(os, name, counted)
    return counts


@pytest.mark.parametrize("mode", [IoMode.BUFFERED, IoMode.DIRECT, IoMode.FADVISE])
@pytest.mark.parametrize("unaligned_tail", [0, 100])
def test_a_skimmed_reread_reads_the_structures_and_not_the_pages(tmp_path, bytes_read, mode,
                                                                 unaligned_tail):
    path, pages = image(tmp_path, unaligned_tail)
    with open_source(path, mode) as source:
        if source.mode is not mode:
            pytest.skip(f"{mode.value} I/O is not available on {tmp_path}")
        source.skim = True
        assert bytes(source.read(HEAD, "header")) == b"H" * HEAD
        skimmed = source.page_data(pages, "page_data")
        assert len(skimmed) == pages and not any(skimmed)
        assert bytes(source.read(len(TRAILER), "trailer")) == TRAILER
        assert source.at_eof()
    assert sum(bytes_read) < pages // 4, bytes_read


@pytest.mark.parametrize("mode", [IoMode.BUFFERED, IoMode.DIRECT])
def test_without_skim_the_pages_are_read(tmp_path, bytes_read, mode):
    path, pages = image(tmp_path, 100)
    with open_source(path, mode) as source:
        source.read(HEAD, "header")
        data = bytes(source.page_data(pages, "page_data"))
        assert data == open(path, "rb").read()[HEAD:HEAD + pages]
        assert bytes(source.read(len(TRAILER), "trailer")) == TRAILER
    assert sum(bytes_read) >= pages


def test_a_skim_past_the_end_of_the_file_is_a_read_that_fails(tmp_path):
    path, pages = image(tmp_path, 0)
    with open_source(path, IoMode.DIRECT) as source:
        source.skim = True
        source.read(HEAD, "header")
        with pytest.raises(TruncatedError, match="page_data"):
            source.page_data(pages + 2 * len(TRAILER), "page_data")
