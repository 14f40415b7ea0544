"""The options every command shares, and the usage errors operators meet first."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from tests.integration.cli_runner import xcformat
from xcformat.cli import COMMANDS, build_parser, common_options, subcommand
from xcformat.cli.common import COMMON_OPTIONS
from xcformat.synth import GuestSpec, legacy_bytes, sample

IMAGE_COMMANDS = [c for c in COMMANDS if c != "completion"]


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    path = tmp_path_factory.mktemp("img") / "guest.img"
    sample(str(path))
    return path


def test_every_command_takes_the_same_shared_options():
    parser = build_parser()
    wanted = None
    for name in IMAGE_COMMANDS:
        group = next(g for g in subcommand(parser, name)._action_groups
                     if g.title == COMMON_OPTIONS)
        flags = [tuple(a.option_strings) for a in group._group_actions]
        assert ("--json",) in flags and ("-q", "--quiet") in flags and ("--no-progress",) in flags
        wanted = wanted or flags
        assert flags == wanted, name


def test_common_options_are_what_help_prints():
    helped = subcommand(build_parser(), "validate").format_help()
    for invocation, text in common_options("validate"):
        assert invocation in helped
        assert text.split()[0] in helped


def test_an_unknown_argument_shows_the_subcommands_usage(image, capsys):
    result = xcformat("validate", image, "--bogus")
    assert result.code == 2
    assert "usage: xcformat validate" in result.stderr
    assert "unrecognized arguments: --bogus" in result.stderr
    assert "{info,validate" not in result.stderr      # not the top level's list of commands


@pytest.mark.parametrize("argv, message", [
    (["page", "{image}", "--pfn", "zz"], "'zz' is not a pfn (decimal, or 0x... hex)"),
    (["page", "{image}", "--pfn", "-1"], "-1: a pfn cannot be negative"),
    (["page", "{image}", "--pfn", "9-5"], "the range ends before it starts"),
    (["page", "{image}", "--pfn", "0-99999"], "at most 4096"),
    (["map", "{image}", "--at", "-1"], "a byte offset cannot be negative"),
    (["map", "{image}", "--at", "0x"], "is not a byte offset"),
])
def test_bad_numbers_are_clean_usage_errors(image, argv, message):
    result = xcformat(*[a.format(image=image) for a in argv])
    assert result.code == 2 and message in result.stderr, result.stderr
    assert "<lambda>" not in result.stderr and "Traceback" not in result.output


def test_map_at_past_the_end_is_refused(image):
    size = image.stat().st_size
    result = xcformat("map", image, "--at", hex(size))
    assert result.code == 2 and "past the end" in result.stderr and str(size) in result.stderr
    assert result.stdout == ""
    assert xcformat("map", image, "--at", hex(size - 1)).code == 0


def test_quiet_silences_convert_and_json_summarises_it(image, tmp_path):
    out = tmp_path / "out.v2"
    quiet = xcformat("convert", image, out, "--to", "v2", "--drop", "unmapped-pfns", "-q")
    assert quiet.code == 0 and quiet.stderr == "" and out.exists()
    out.unlink()
    done = xcformat("convert", image, out, "--to", "v2", "--drop", "unmapped-pfns", "--json",
                    "--no-progress")
    summary = json.loads(done.stdout)
    assert summary["format"] == "v2" and summary["input_format"] == "legacy"
    assert summary["size"] == out.stat().st_size
    assert any("--drop unmapped-pfns" in m for m in summary["messages"])
    assert "wrote" in done.stderr          # --json does not silence standard error; -q does


def test_json_refuses_an_image_on_standard_output(image):
    result = xcformat("convert", image, "-", "--to", "legacy", "--json")
    assert result.code == 2 and "--json prints on standard output" in result.stderr


def test_send_to_a_closed_port_is_an_environment_error(image):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = xcformat("send", image, f"127.0.0.1:{port}", "--timeout", "2")
    assert result.code == 2 and "cannot connect" in result.stderr


def test_send_and_receive_summarise_in_json_and_the_port_is_announced(tmp_path):
    src, out = tmp_path / "in.img", tmp_path / "got.img"
    src.write_bytes(legacy_bytes(GuestSpec(pages=40)))
    cli = [sys.executable, "-m", "xcformat"]
    receiver = subprocess.Popen([*cli, "receive", "--listen", "127.0.0.1:0", str(out), "--json",
                                 "-q", "--hold", "0.1"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    try:
        line = receiver.stderr.readline()
        assert line.startswith("xcformat: listening on 127.0.0.1:"), line
        address = line.split()[-1]
        sent = subprocess.run([*cli, "send", str(src), address, "--json", "-q"],
                              capture_output=True, text=True, timeout=60)
        got_out, got_err = receiver.communicate(timeout=60)
    finally:
        receiver.kill()
    assert sent.returncode == 0 and sent.stderr == ""
    assert receiver.returncode == 0 and got_err == ""     # -q: only the port line
    sent_json, got_json = json.loads(sent.stdout), json.loads(got_out)
    assert sent_json["negotiated"] and got_json["negotiated"]
    assert sent_json["sent_as"] == got_json["option"]
    assert got_json["listen"] == address and got_json["size"] == out.stat().st_size
    assert sent_json["size"] == got_json["size"]
