"""With O_DIRECT on both ends, an aligned file's page data goes from the source's buffer to the
file without a bounce copy: the writer hands the sink whole aligned blocks."""

from __future__ import annotations

import pytest

from xcformat.aligned import FORMAT
from xcformat.formats import Hints, WriteOptions
from xcformat.io import open_sink, open_source
from xcformat.io import sink as sink_module

from conftest import pv_records, read_aligned, write_aligned


def test_page_data_is_written_straight_with_direct_io(tmp_path, monkeypatch):
    write_aligned(tmp_path / "a", pv_records())
    regions = []
    read_aligned(tmp_path / "a", regions.append)
    pages = {(r.offset, r.length) for r in regions if r.kind == "page-data"}
    straight = []
    real = sink_module._pwrite_all

    def spy(fd, view, offset, *rest):
        if not rest:    # the sink's straight path; its writer thread passes flags as well
            straight.append((offset, len(view)))
        return real(fd, view, offset, *rest)

    monkeypatch.setattr(sink_module, "_pwrite_all", spy)
    with open_source(str(tmp_path / "a"), "direct") as source, \
            open_sink(str(tmp_path / "b"), "direct") as sink:
        if sink.mode.value != "direct":
            pytest.skip(f"{tmp_path} refuses O_DIRECT")
        first = len(straight)
        FORMAT.writer(sink, WriteOptions()).write(FORMAT.reader(source, Hints()).records())
        # Only what the sink wrote without gathering it into its own buffer first.
        direct = set(straight[first:])
    assert pages <= direct
    assert (tmp_path / "b").read_bytes() == (tmp_path / "a").read_bytes()
