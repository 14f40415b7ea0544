"""Every --io mode moves exactly the bytes buffered I/O moves, on ext4 (or whatever holds the
test's tmp_path), on tmpfs and on ramfs, through small windows and chunks so that every
refill, bounce and padded tail is exercised."""


import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xcformat.errors import EnvironmentProblem, TruncatedError
from xcformat.io import IoMode, open_sink, open_source
from xcformat.io import sink as sink_module
from xcformat.io.buffers import aligned_buffer

MODES = [m.value for m in IoMode]
SMALL = dict(chunk=64 << 10)
DATA = os.urandom((1 << 20) + 12345)


def aligned_copy(data: bytes) -> memoryview:
    view = memoryview(aligned_buffer(len(data)))[:len(data)]
    view[:] = data
    return view


def write_pieces(path, mode, pieces, **kw):
    with open_sink(str(path), mode, **kw) as sink:
        for piece in pieces:
            sink.write(piece)
        assert sink.offset == sum(len(p) for p in pieces)
    return sink


def split(data, sizes):
    out, at = [], 0
    for size in sizes:
        out.append(data[at:at + size])
        at += size
    out.append(data[at:])
    return out


@pytest.fixture(params=["tmp", "shm"])
def where(request, tmp_path):
    return tmp_path if request.param == "tmp" else request.getfixturevalue("shm_dir")


@pytest.mark.parametrize("mode", MODES)
def test_sink_writes_exact_bytes_and_size_in_every_mode(where, mode, said):
    out = os.path.join(where, "out")
    # Odd header, aligned page runs from aligned memory (the no-copy path), odd tail.
    pieces = [DATA[:100], DATA[100:4096], aligned_copy(DATA[4096:4096 + (256 << 10)]),
              DATA[4096 + (256 << 10):-7], DATA[-7:]]
    sink = write_pieces(out, mode, pieces, **SMALL)
    with open(out, "rb") as f:
        assert f.read() == DATA
    assert os.path.getsize(out) == len(DATA)
    assert sink.mode in IoMode


@pytest.mark.parametrize("mode", MODES)
def test_source_reads_exact_bytes_in_every_mode(where, mode, said):
    path = os.path.join(where, "in")
    with open(path, "wb") as f:
        f.write(DATA)
    got = bytearray()
    with open_source(path, mode, window=64 << 10) as src:
        for size in (1, 4095, 70000, 3, 1 << 17, 4096):
            got += src.read(size, "piece")
        peeked = src.peek(10)
        assert bytes(src.read(10, "peeked")) == peeked
        got += peeked
        while not src.at_eof():
            got += src.read_upto(50000)
        assert src.pread(4097, 5000, "random") == DATA[4097:9097]
        assert src.pread(len(DATA) - 3, 3, "last") == DATA[-3:]
        with pytest.raises(TruncatedError) as err:
            src.pread(len(DATA) - 3, 4, "past.end")
    assert bytes(got) == DATA
    assert "past.end" in str(err.value) and hex(len(DATA) - 3) in str(err.value)


def test_direct_source_reports_truncation_with_offset_and_field(tmp_path):
    path = tmp_path / "in"
    path.write_bytes(DATA[:10000])
    with open_source(str(path), "direct", window=16 << 10) as src:
        src.skip(9990, "body")
        with pytest.raises(TruncatedError) as err:
            src.read(11, "trailer.magic")
    assert "0x2706" in str(err.value) and "trailer.magic" in str(err.value)


def test_a_large_read_grows_the_direct_window(tmp_path):
    path = tmp_path / "in"
    path.write_bytes(DATA)
    with open_source(str(path), "direct", window=16 << 10) as src:
        assert bytes(src.read(3, "head")) == DATA[:3]
        assert bytes(src.read(len(DATA) - 3, "all")) == DATA[3:]
        assert src.at_eof()


@pytest.mark.parametrize("mode", ["direct", "buffered"])
def test_flush_mid_stream_then_writing_on_keeps_every_byte(tmp_path, mode):
    out = tmp_path / "out"
    with open_sink(str(out), mode, **SMALL) as sink:
        sink.write(DATA[:5000])
        sink.flush()
        sink.write(DATA[5000:9000])
        sink.flush()
        sink.write(DATA[9000:])
    assert out.read_bytes() == DATA


def test_explicit_direct_on_ramfs_falls_back_and_still_writes_and_reads(ramfs_dir, said):
    out = os.path.join(ramfs_dir, "out")
    sink = write_pieces(out, "direct", [DATA[:77], aligned_copy(DATA[77:77 + 8192]),
                                        DATA[77 + 8192:]], **SMALL)
    assert sink.mode is not IoMode.DIRECT
    with open_source(out, "direct") as src:
        assert bytes(src.read(len(DATA), "all")) == DATA
    assert len(said) == 1 and "O_DIRECT refused" in said[0]


def test_a_full_file_system_is_an_environment_problem_and_leaves_nothing(tiny_tmpfs, said):
    out = os.path.join(tiny_tmpfs, "out")
    with pytest.raises(EnvironmentProblem) as err:
        write_pieces(out, "auto", [DATA], **SMALL)
    assert "No space left" in str(err.value) and out in str(err.value)
    assert os.listdir(tiny_tmpfs) == []


def test_output_in_a_missing_directory_is_an_environment_problem(tmp_path):
    with pytest.raises(EnvironmentProblem, match="cannot create output"):
        with open_sink(str(tmp_path / "no" / "out")):
            pass


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mode=st.sampled_from(["direct", "uncached", "fadvise"]),
       sizes=st.lists(st.integers(0, 70000), max_size=12),
       aligned=st.lists(st.booleans(), max_size=12))
def test_any_write_pattern_gives_the_buffered_bytes(tmp_path, mode, sizes, aligned):
    pieces = [aligned_copy(p) if a and p else p
              for p, a in zip(split(DATA, sizes), aligned + [False] * (len(sizes) + 1))]
    out = tmp_path / f"out-{mode}"
    write_pieces(out, mode, pieces, chunk=16 << 10)
    assert out.read_bytes() == DATA


def test_gathered_writes_never_go_straight_even_from_aligned_memory(tmp_path, monkeypatch):
    straight = []
    real = sink_module._pwrite_all

    def spy(fd, view, offset, *rest):
        if not rest:    # the straight path; the writer thread passes flags as well
            straight.append(len(view))
        return real(fd, view, offset, *rest)

    monkeypatch.setattr(sink_module, "_pwrite_all", spy)
    piece = aligned_copy(DATA[:64 << 10])
    with open_sink(str(tmp_path / "out"), "direct", **SMALL) as sink:
        if sink.mode is not IoMode.DIRECT:
            pytest.skip(f"{tmp_path} refuses O_DIRECT")
        sink.write(piece, gather=True)
        assert straight == []
        sink.write(piece)
        assert straight == [len(piece)]
    assert (tmp_path / "out").read_bytes() == DATA[:64 << 10] * 2
