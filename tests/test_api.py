"""The Python API (``xcformat.open`` and the Image it returns) against the command line and the
readers: the same facts, findings, pages and bytes, from a path, bytes or a file object."""

from __future__ import annotations

import io
import json
import logging
import os
import threading

import pytest

import xcformat
from xcformat.errors import EnvironmentProblem, FormatError, UnsupportedError
from xcformat.records import ImageHeader, PageBatch
from xcformat.synth import GuestSpec, legacy_bytes, sample

from .integration.cli_runner import xcformat as cli


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "guest.save"
    path.write_bytes(legacy_bytes(GuestSpec(pages=24, vcpus=2)))
    return path


def test_a_path_bytes_and_file_objects_give_the_same_facts_as_info_json(image):
    data = image.read_bytes()
    printed = json.loads(cli("info", image, "--json").stdout)
    with image.open("rb") as real_file:
        inputs = [image, str(image), data, bytearray(data), io.BytesIO(data), real_file]
        for source in inputs:
            with xcformat.open(source) as opened:
                facts = opened.info().as_json()
            named = facts.pop("file")
            assert facts == {k: v for k, v in printed.items() if k != "file"}, type(source)
            expected_name = {bytes: "<bytes>", bytearray: "<bytes>", io.BytesIO: "<BytesIO>"}
            assert named == expected_name.get(type(source), printed["file"])
    assert printed["pages"] == 24 and printed["vcpus"] == 2


def test_info_of_a_damaged_image_raises_or_with_partial_keeps_what_was_read(image, tmp_path):
    cut = tmp_path / "cut.save"
    cut.write_bytes(image.read_bytes()[:60000])
    with xcformat.open(cut) as opened:
        with pytest.raises(FormatError):
            opened.info()
        info = opened.info(partial=True)
    assert isinstance(info.error, FormatError) and info.as_json()["error"] == str(info.error)
    assert info.format == "legacy" and info.guest == "pv" and info.details == {}
    assert info.as_json() == json.loads(cli("info", cut, "--json").stdout)


def test_info_is_typed_and_json_able(image):
    with xcformat.open(image) as opened:
        info = opened.info()
    assert (info.format, info.guest, info.toolstack_width, info.pages) == ("legacy", "pv", 64, 24)
    assert info.records["PageBatch"] >= 1 and info.details["variant"]
    assert json.loads(json.dumps(info.as_json())) == info.as_json()


def test_a_file_object_is_read_from_where_it_stands_and_again_on_each_call(image, tmp_path):
    padded = tmp_path / "padded"
    padded.write_bytes(b"junk" * 100 + image.read_bytes())
    with padded.open("rb") as file:
        file.read(400)
        with xcformat.open(file) as opened:
            first = opened.info().as_json()
            assert opened.info().as_json() == first      # a second pass starts over
            assert opened.page(3).data == xcformat.open(image).page(3).data


def test_two_passes_under_way_at_once_keep_their_own_places(tmp_path):
    big = tmp_path / "big.save"          # larger than a source's read window (8 MiB)
    big.write_bytes(legacy_bytes(GuestSpec(pages=4000)))

    def seen(record):
        return type(record), bytes(record.data[:64]) if isinstance(record, PageBatch) else b""

    with big.open("rb") as file, xcformat.open(file) as opened:
        alone = [seen(record) for record in opened.records()]
        together = [(seen(a), seen(b)) for a, b in zip(opened.records(), opened.records())]
    assert len(alone) > 10 and together == [(kind, kind) for kind in alone]


def test_a_pipe_is_read_once_and_a_second_pass_says_so(image):
    read_end, write_end = os.pipe()
    data = image.read_bytes()
    with os.fdopen(read_end, "rb") as reader, os.fdopen(write_end, "wb") as writer:
        # The image is larger than a pipe's buffer: a thread feeds it while it is read.
        feeder = threading.Thread(target=lambda: (writer.write(data), writer.close()))
        feeder.start()
        with xcformat.open(reader) as opened:
            assert opened.validate().valid
            with pytest.raises(UnsupportedError, match="can be read only once"):
                opened.info()
        feeder.join()


def test_validate_returns_typed_findings_like_the_cli(image, tmp_path):
    data = bytearray(image.read_bytes())
    damaged = tmp_path / "damaged.save"
    damaged.write_bytes(bytes(data[:len(data) // 2]))
    printed = json.loads(cli("validate", damaged, "--json").stdout)
    verdict = xcformat.validate(damaged)
    assert not verdict.valid and verdict.as_json() == printed
    error = verdict.findings[-1]
    assert error.level == "error" and isinstance(error.offset, int) and error.field
    assert xcformat.open(image).validate().valid


def test_bytes_that_are_no_image_are_refused_by_open_and_a_finding_of_validate():
    with pytest.raises(FormatError, match="not an image xcformat knows"):
        xcformat.open(b"\x00" * 4096)
    verdict = xcformat.validate(b"\x00" * 4096)
    assert verdict.format is None and not verdict.valid and verdict.findings[0].field == "magic"


def test_a_missing_file_is_an_environment_problem(tmp_path):
    with pytest.raises(EnvironmentProblem, match="cannot open"):
        xcformat.open(tmp_path / "absent")


def test_page_matches_the_page_command(image, tmp_path):
    out = tmp_path / "page3"
    assert cli("page", image, "--pfn", "3", "-o", out).code == 0
    with xcformat.open(image.read_bytes()) as opened:
        page = opened.page(3)
        assert bytes(page) == out.read_bytes() and page.pfn == 3 and page.how == "scan"
        with pytest.raises(FormatError, match="no data for pfn 0x1000"):
            opened.page(0x1000)
        with pytest.raises(EnvironmentProblem):
            opened.page(-1)


def test_records_are_the_readers_records_in_file_order(image):
    with xcformat.open(image) as opened:
        kinds = [type(record) for record in opened.records()]
        pages = sum(r.data_pages for r in opened.records() if isinstance(r, PageBatch))
    assert kinds[0] is ImageHeader and pages == 24


@pytest.mark.parametrize("target", ["v2", "aligned", "core"])
def test_convert_to_a_path_or_a_file_object_writes_the_bytes_the_cli_writes(image, tmp_path,
                                                                          target):
    by_cli = tmp_path / f"cli.{target}"
    assert cli("convert", image, by_cli, "--to", target, "--no-progress").code == 0
    by_api = tmp_path / f"api.{target}"
    with xcformat.open(image) as opened:
        written = opened.convert(by_api, target)
        buffer = io.BytesIO()
        opened.convert(buffer, target)
    assert by_api.read_bytes() == by_cli.read_bytes() == buffer.getvalue()
    assert (written.format, written.source_format, written.size) == (target, "legacy",
                                                                     by_api.stat().st_size)
    assert xcformat.validate(buffer.getvalue()).valid


def test_a_refused_conversion_leaves_no_file_and_drop_lets_it_through(tmp_path):
    source = tmp_path / "sample.xl"
    sample(source)                                  # its unmapped-pfn list has no place in v2
    out = tmp_path / "out.v2"
    with xcformat.open(source) as opened:
        with pytest.raises(UnsupportedError, match="pass --drop unmapped-pfns") as caught:
            opened.convert(out, "v2")
        assert str(caught.value).startswith(f"{source}: ")   # the message names the input
        assert sorted(os.listdir(tmp_path)) == ["sample.xl"]
        heard: list[str] = []
        written = opened.convert(out, "v2", drop=["unmapped-pfns"], on_message=heard.append)
    assert heard == written.messages and any("--drop unmapped-pfns" in m for m in heard)
    assert xcformat.validate(out).valid
    by_cli = tmp_path / "cli.v2"
    assert cli("convert", source, by_cli, "--to", "v2", "--drop", "unmapped-pfns",
               "--no-progress").code == 0
    assert by_cli.read_bytes() == out.read_bytes()


def test_messages_go_to_the_xcformat_logger_and_nothing_to_stdout(image, tmp_path, caplog,
                                                                  capfd):
    with caplog.at_level(logging.INFO, logger="xcformat"):
        with xcformat.open(image) as opened:
            written = opened.convert(tmp_path / "out.core", "core")
    assert written.messages and [r.getMessage() for r in caplog.records
                                 if r.name == "xcformat"] == written.messages
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""


def test_unknown_drop_kinds_and_formats_are_refused_before_anything_is_written(image, tmp_path):
    with xcformat.open(image) as opened:
        with pytest.raises(EnvironmentProblem, match="not a kind"):
            opened.convert(tmp_path / "out", "v2", drop=["bogus"])
        with pytest.raises(FormatError, match="unknown format"):
            opened.convert(tmp_path / "out", "qcow2")
    assert not (tmp_path / "out").exists()


def test_a_closed_image_refuses_work(image):
    opened = xcformat.open(image)
    opened.close()
    with pytest.raises(ValueError, match="closed"):
        opened.info()
