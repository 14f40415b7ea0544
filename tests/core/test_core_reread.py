"""``convert IMAGE DUMP --to core`` reads the pages of a file input back from the input in pfn
order (PageBatch.data_offset) instead of spilling them to a scratch file; a pipe still goes
through the scratch file.  Both paths write the same bytes, for every save-image format."""

from __future__ import annotations

import subprocess
import sys

import pytest
from coredump_builders import pages_of, read_all

from xcformat import formats
from xcformat.cli import main
from xcformat.core.writer import CoreWriter
from xcformat.formats import Hints, WriteOptions
from xcformat.io import open_sink, open_source
from xcformat.synth import GuestSpec, expected, write_legacy

FORMATS = ("legacy", "v2", "aligned")
#: A live save: every page, then a last iteration re-sending some, in batches of 37, so the
#: last copies are scattered through the file and the read-back has many runs.
SPEC = GuestSpec(guest="pv", pages=300, vcpus=2, batch=37, live=True)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    directory = tmp_path_factory.mktemp("reread")
    legacy = directory / "guest.legacy"
    write_legacy(SPEC, str(legacy))
    found = {"legacy": legacy}
    for fmt in FORMATS[1:]:
        found[fmt] = directory / f"guest.{fmt}"
        assert main(["convert", str(legacy), str(found[fmt]), "--to", fmt,
                     "--no-progress"]) == 0
    return found


def _write(image, dump, *, reread: bool) -> CoreWriter:
    """Convert through the writer API, with a sink told it may read the input again or not."""
    with open_source(str(image)) as source:
        fmt = formats.get(formats.sniff(source.peek(formats.SNIFF_BYTES))[0].format)
        records = fmt.reader(source, Hints()).records()
        with open_sink(str(dump), "buffered", reread=source if reread else None) as sink:
            writer = CoreWriter(sink, WriteOptions(say=lambda _: None))
            writer.write(records)
    return writer


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_file_input_is_read_back_not_spilled_and_gives_the_spilled_bytes(images, tmp_path,
                                                                          fmt):
    reread = _write(images[fmt], tmp_path / "reread.core", reread=True)
    spilled = _write(images[fmt], tmp_path / "spilled.core", reread=False)
    assert reread._pages_in.spilled == 0
    assert reread._pages_in.resent > 0          # the live save's last iteration
    assert spilled._pages_in.spilled == reread._pages_in.count + reread._pages_in.resent
    assert (tmp_path / "reread.core").read_bytes() == (tmp_path / "spilled.core").read_bytes()
    _, records = read_all(tmp_path / "reread.core")
    want = expected(SPEC)
    got = pages_of(records)
    assert sorted(got) == list(want.data_pfns())
    assert all(got[pfn] == want.content(pfn) for pfn in got)   # the last copies


@pytest.mark.parametrize("fmt", FORMATS)
def test_convert_from_a_pipe_writes_what_convert_from_the_file_writes(images, tmp_path, fmt):
    from_file, from_pipe = tmp_path / "file.core", tmp_path / "pipe.core"
    assert main(["convert", str(images[fmt]), str(from_file), "--to", "core",
                 "--no-progress"]) == 0
    subprocess.run([sys.executable, "-m", "xcformat", "convert", "-", str(from_pipe), "--to",
                    "core", "--no-progress"], input=images[fmt].read_bytes(), check=True,
                   capture_output=True)
    assert from_file.read_bytes() == from_pipe.read_bytes()
