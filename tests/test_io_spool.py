"""Bytes kept for a second reading (Spool) and copied into an output (Sink.write_from): kept by
offset where the input can be read again, else in a scratch file; written whole, in order, on
files (through the write-behind chunks) and on streams."""

from __future__ import annotations

import os
import threading

import pytest

from xcformat.errors import TruncatedError
from xcformat.io import open_sink, open_source
from xcformat.io.sink import Sink
from xcformat.io.spool import Spool

PAGE = 4096


def _pages(first: int, n: int) -> bytes:
    return b"".join(bytes([(first + i) % 251]) * PAGE for i in range(n))


@pytest.fixture
def input_file(tmp_path):
    path = tmp_path / "input"
    path.write_bytes(_pages(0, 64))
    return path


def test_bytes_that_lie_in_a_rereadable_input_are_kept_by_offset_not_copied(input_file,
                                                                          tmp_path):
    with open_source(str(input_file)) as source, \
            open_sink(str(tmp_path / "out"), reread=source) as sink:
        spool = Spool(sink)
        where = spool.keep(memoryview(_pages(5, 3)), 5 * PAGE)
        assert where == 5 * PAGE and spool.spilled == 0
        read, offset = spool.where(Spool.after(where, PAGE))
        target = memoryview(bytearray(2 * PAGE))
        read(offset, target)
        assert bytes(target) == _pages(6, 2)
        spool.close()
        sink.write(b"x")


def test_bytes_with_no_input_to_read_again_go_to_the_scratch_file(input_file, tmp_path):
    with open_source(str(input_file)) as source, open_sink(str(tmp_path / "out")) as sink:
        spool = Spool(sink)
        first = spool.keep(memoryview(_pages(1, 2)), 1 * PAGE)   # no reread: copied
        second = spool.keep(memoryview(_pages(9, 1)), None)
        assert first < 0 and second == Spool.after(first, 2 * PAGE)
        assert spool.spilled == 3 * PAGE
        target = memoryview(bytearray(3 * PAGE))
        read, offset = spool.where(first)
        read(offset, target)
        assert bytes(target) == _pages(1, 2) + _pages(9, 1)
        spool.close()
        assert source.offset == 0     # the input was never touched
        sink.write(b"x")


def _runs(source):
    """Runs of odd lengths and in another order than the file's, some crossing chunks."""
    layout = [(40, 7), (3, 1), (10, 20), (0, 3), (47, 17)]
    runs = [(lambda off, view: source.pread_into(off, view, "run"), first * PAGE, n * PAGE)
            for first, n in layout]
    return runs, b"".join(_pages(first, n) for first, n in layout)


@pytest.mark.parametrize("mode", ["buffered", "direct"])
def test_write_from_a_file_writes_every_run_in_order(input_file, tmp_path, mode):
    out = tmp_path / "out"
    with open_source(str(input_file)) as source:
        runs, want = _runs(source)
        with open_sink(str(out), mode, chunk=4 * PAGE) as sink:
            sink.write(b"head" * 1024)          # one page, gathered before the runs
            sink.write_from(runs)
            sink.write(b"tail")
    assert out.read_bytes() == b"head" * 1024 + want + b"tail"


def test_write_from_a_stream_writes_every_run_in_order(input_file):
    read_end, write_end = os.pipe()
    got = bytearray()

    def drain():
        with os.fdopen(read_end, "rb") as pipe:
            got.extend(pipe.read())

    reader = threading.Thread(target=drain)
    reader.start()
    with open_source(str(input_file)) as source:
        runs, want = _runs(source)
        sink = Sink(write_end, "pipe", chunk=4 * PAGE)
        sink.write_from(runs)
        sink.close()
    os.close(write_end)
    reader.join()
    assert bytes(got) == want


@pytest.mark.parametrize("stream", [False, True])
def test_a_failed_read_in_write_from_is_raised_not_lost(tmp_path, stream):
    def broken(offset, view):
        raise TruncatedError("input ends early", file="input", offset=offset, field="run")

    runs = [(lambda offset, view: view.__setitem__(slice(None), bytes(len(view))), 0, 5 * PAGE),
            (broken, 7 * PAGE, 3 * PAGE)]
    fd = os.open(tmp_path / "out", os.O_CREAT | os.O_RDWR)
    sink = Sink(fd, "out", stream=stream, chunk=4 * PAGE)
    try:
        with pytest.raises(TruncatedError, match="input ends early"):
            sink.write_from(runs)
    finally:
        sink.close()
        os.close(fd)
