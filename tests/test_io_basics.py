"""The buffered source and the atomic sink, on real files."""

import os

import pytest

from xcformat.errors import EnvironmentProblem, TruncatedError
from xcformat.io import Source, open_sink, open_source


def test_source_reads_exact_bytes_and_reports_truncation_with_file_offset_and_field(tmp_path):
    path = tmp_path / "img"
    path.write_bytes(bytes(range(256)) * 100)
    with open_source(str(path)) as src:
        assert bytes(src.read(4, "a")) == b"\x00\x01\x02\x03"
        assert src.offset == 4
        assert src.peek(2) == b"\x04\x05"
        src.skip(25590, "b")
        with pytest.raises(TruncatedError) as err:
            src.read(8, "tail.field")
    message = str(err.value)
    assert str(path) in message and "0x63fa" in message and "tail.field" in message


def test_source_grows_its_window_for_a_read_larger_than_the_window(tmp_path):
    path = tmp_path / "img"
    data = os.urandom(9 << 20)
    path.write_bytes(data)
    with open_source(str(path)) as src:
        assert bytes(src.read(100, "x")) == data[:100]
        assert bytes(src.read(len(data) - 100, "y")) == data[100:]
        assert src.at_eof()


def test_sink_leaves_no_file_when_the_write_fails(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        with open_sink(str(out)) as sink:
            sink.write(b"x" * 1000)
            raise RuntimeError("conversion failed")
    assert list(tmp_path.iterdir()) == []


def test_sink_publishes_the_file_only_on_success(tmp_path):
    out = tmp_path / "out"
    with open_sink(str(out)) as sink:
        sink.write(b"abc")
        assert not out.exists()
    assert out.read_bytes() == b"abc"


def test_missing_input_is_an_environment_problem(tmp_path):
    with pytest.raises(EnvironmentProblem):
        with open_source(str(tmp_path / "nope")):
            pass


def test_a_source_on_a_file_read_part_way_counts_offsets_from_where_it_started(tmp_path):
    # Standard input redirected from a file something else has already read from.
    data = bytes(range(256)) * 64
    (tmp_path / "img").write_bytes(data)
    fd = os.open(tmp_path / "img", os.O_RDONLY)
    os.lseek(fd, 1000, os.SEEK_SET)
    source = Source(fd, "<stdin>")
    try:
        assert source.read(16, "head") == data[1000:1016]
        assert source.pread(0, 16, "again") == data[1000:1016]
        target = memoryview(bytearray(4096))
        source.pread_into(4096, target, "page")
        assert target == data[5096:9192]
        with pytest.raises(TruncatedError):
            source.pread(len(data) - 1000 - 8, 16, "tail")
    finally:
        source.close()
