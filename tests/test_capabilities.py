"""What a format can do is declared once, in its capabilities, and everything else reads it:
the command line's choices and refusals, the negotiation's tables, the sender's choice."""

from __future__ import annotations

import dataclasses
import json

import pytest

from tests.integration.cli_runner import xcformat
from tests.negotiate.netpeers import receive_settings, transfer
from xcformat import formats
from xcformat.cli import build_parser, subcommand
from xcformat.formats import Capabilities, Sniffed, WriteOptions, option
from xcformat.io import open_source
from xcformat.negotiate import messages, options, receiver, targets
from xcformat.negotiate.options import OPTIONS
from xcformat.negotiate.sender import SendSettings, pick
from xcformat.synth import sample

REAL = dict(formats.registry())


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    path = tmp_path_factory.mktemp("img") / "guest.img"
    sample(str(path))
    return path


@pytest.mark.parametrize("name", sorted(REAL))
def test_every_format_declares_what_it_can_do(name):
    caps = REAL[name].capabilities
    assert isinstance(caps, Capabilities) and caps.noun
    assert list(caps.versions) == sorted(set(caps.versions))
    assert caps.aligned is None or caps.aligned.strip()
    assert len(set(caps.wraps)) == len(caps.wraps)
    if caps.options is not None:
        assert dataclasses.is_dataclass(caps.options)
        assert dataclasses.fields(caps.options) == formats.option_fields(caps.options)
        defaults = caps.options()              # every own option has a default
        assert WriteOptions(format_options=defaults).own(caps.options) is defaults


def test_a_format_without_capabilities_cannot_be_declared():
    with pytest.raises(TypeError, match="capabilities"):
        formats.Format("x", "x", lambda head: None, lambda source, hints: None)


def test_the_writers_rule_for_the_default_version_is_the_negotiations():
    v2 = REAL["v2"].capabilities
    assert v2.default_version("v2", Sniffed("v2", True, "", {"version": 2})) == 2
    assert v2.default_version("v2", Sniffed("v2", True, "", {"version": 3})) == 3
    assert v2.default_version("v2", Sniffed("legacy", True, "")) == 3
    assert REAL["legacy"].capabilities.default_version("legacy", None) is None
    assert options.written_version(OPTIONS["v2"], Sniffed("v2", True, "", {"version": 2})) == 2
    assert options.written_version(OPTIONS["legacy"], None) == options.UNVERSIONED


# -- the command line and the negotiation read them --------------------------------------------
def _with(monkeypatch, name, **changes):
    """The real registry, with ``name``'s capabilities changed."""
    fmt = REAL[name]
    changed = dataclasses.replace(fmt, capabilities=dataclasses.replace(fmt.capabilities,
                                                                        **changes))
    monkeypatch.setattr(formats, "registry", lambda: {**REAL, name: changed})


def _action(command, flag):
    parser = subcommand(build_parser((command,)), command)
    return next(a for a in parser._actions if flag in a.option_strings)


def test_a_version_added_to_a_format_shows_in_the_cli_and_the_negotiation(monkeypatch):
    assert "; v2 2 or 3 (" in _action("convert", "--format-version").help
    with pytest.raises(formats.EnvironmentProblem, match="v2 streams are version 2 or 3$"):
        REAL["v2"].capabilities.check("v2", WriteOptions(version=4))
    _with(monkeypatch, "v2", versions=(2, 3, 4))
    assert "; v2 2 or 3 or 4 (" in _action("convert", "--format-version").help
    formats.get("v2").capabilities.check("v2", WriteOptions(version=4))
    assert OPTIONS["v2"].versions == OPTIONS["v2-align"].versions == (2, 4)
    entries = receiver.accept_entries(receive_settings())
    assert messages.Accept("v2", False, 2, 4, 0) in entries
    assert options.written_version(OPTIONS["v2"], Sniffed("legacy", True, "")) == 4
    # Xen 4.14+ takes any version: the newest is written; 4.6-4.13 still get version 2.
    assert targets.choose(targets.get("xen-4.14+"), 64)[0].pinned is None
    assert targets.choose(targets.get("xen-4.6+"), 64)[0].pinned == 2


def test_wrappers_and_aligned_variants_come_from_the_formats(monkeypatch):
    assert "legacy: xl, xend; v2: libxc, libxl, xl)" in _action("send", "--wrap").help
    _with(monkeypatch, "v2", wraps=("libxc", "libxl", "xl", "qemu"), aligned=None)
    assert "v2: libxc, libxl, xl, qemu)" in _action("convert", "--wrap").help
    formats.get("v2").capabilities.check("v2", WriteOptions(wrap="qemu"))
    assert "v2:" not in _action("convert", "--align").help
    assert options.unwritable(OPTIONS["v2-align"]) == \
        "this xcformat's v2 writer has no aligned variant yet"
    option, passed = targets.choose(targets.get("xen-4.14+"), 64)
    assert option.name == "v2" and passed[0].startswith("v2-align: ")
    assert "v2-align" not in [o.name for o in OPTIONS.values() if options.writable(o)]


@dataclasses.dataclass(frozen=True)
class _ToyV2Options:
    frames: int | None = option("--toy-frames", "frames per toy", choices=(1, 2))


def test_a_formats_own_option_is_a_flag_of_convert_and_send(monkeypatch):
    _with(monkeypatch, "v2", options=_ToyV2Options)
    for command in ("convert", "send"):
        action = _action(command, "--toy-frames")
        assert action.choices == (1, 2) and action.help == "v2: frames per toy"
    v2 = formats.registry()["v2"].capabilities
    assert v2.own_options({"frames": 2}) == _ToyV2Options(2)
    with pytest.raises(formats.EnvironmentProblem, match="--toy-frames: legacy streams have "
                                                         "no such option .it is for v2."):
        REAL["legacy"].capabilities.own_options({"frames": 2})
    assert REAL["legacy"].capabilities.own_options({"frames": 2}, strict=False) is None


# -- what a format does not take is refused, from its capabilities -----------------------------
@pytest.mark.parametrize("to, given, message", [
    ("core", ["--wrap", "xl"], "--wrap xl: core dumps have no wrappers"),
    ("aligned", ["--wrap", "xl"], "--wrap xl: aligned files have no wrappers (a source's "
                                  "wrapper is kept as a record)"),
    ("legacy", ["--wrap", "libxl"], "--wrap libxl: legacy wraps are xl, xend"),
    ("v2", ["--wrap", "xend"], "--wrap xend: v2 wraps are libxc, libxl, xl"),
    ("v2", ["--no-index"], "--no-index: v2 streams have no such option (it is for aligned)"),
    ("v2", ["--output-width", "32"], "--output-width: v2 streams have no such option (it is "
                                     "for legacy)"),
    ("legacy", ["--format-version", "2"], "--format-version 2: legacy streams have no version "
                                          "number"),
    ("aligned", ["--format-version", "3"], "--format-version 3: aligned files are version 1"),
    ("v2", ["--format-version", "4"], "--format-version 4: v2 streams are version 2 or 3"),
    ("v2", ["--wrap", "nope"], "--wrap nope: v2 wraps are libxc, libxl, xl"),
    ("aligned", ["--align"], "--align: aligned files have no page-aligned variant"),
])
def test_an_option_the_target_does_not_take_is_a_usage_error(image, tmp_path, to, given,
                                                             message):
    out = tmp_path / "out"
    done = xcformat("convert", image, out, "--to", to, *given, "--drop", "unmapped-pfns")
    assert done.code == 2 and f"xcformat: {message}" in done.stderr, done.stderr
    assert not out.exists() and "Traceback" not in done.output


def test_the_api_refuses_them_too(image, tmp_path):
    import xcformat

    with xcformat.open(str(image)) as opened, \
            pytest.raises(xcformat.errors.EnvironmentProblem, match="--no-index: v2 streams"):
        opened.convert(str(tmp_path / "out"), "v2", index=False, drop=["unmapped-pfns"])
    assert not (tmp_path / "out").exists()


def test_for_leaves_aside_an_option_the_chosen_format_does_not_take(image, tmp_path):
    done = xcformat("convert", image, tmp_path / "out", "--for", "xen-4.14+", "--no-index",
                    "--drop", "unmapped-pfns,config", "--json")
    assert done.code == 0, done.stderr
    assert "--for xen-4.14+: --no-index is not for v2; left aside" in \
        json.loads(done.stdout)["messages"]


# -- --width's two meanings, apart -------------------------------------------------------------
def _width(path) -> int:
    return json.loads(xcformat("info", path, "--json").stdout)["toolstack_width"]


@pytest.fixture(scope="module")
def v2_image(image, tmp_path_factory):
    path = tmp_path_factory.mktemp("v2") / "guest.v2"
    assert xcformat("convert", image, path, "--to", "v2", "--drop", "unmapped-pfns").code == 0
    return path


def test_output_width_sets_the_legacy_output_and_not_the_input(image, tmp_path):
    assert _width(image) == 64
    out = tmp_path / "w32"
    assert xcformat("convert", image, out, "--to", "legacy", "--output-width", "32").code == 0
    assert _width(out) == 32
    # --width still means both: the 64-bit input read as 32-bit does not parse.
    assert xcformat("convert", image, tmp_path / "x", "--to", "legacy", "--width", "32").code \
        != 0


def test_width_keeps_its_old_meaning_for_the_output_and_input_width_has_none(v2_image,
                                                                            tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    assert xcformat("convert", v2_image, old, "--to", "legacy", "--width", "32").code == 0
    assert _width(old) == 32
    assert xcformat("convert", v2_image, new, "--to", "legacy", "--input-width", "32").code == 0
    assert _width(new) == 64
    both = tmp_path / "both"
    assert xcformat("convert", v2_image, both, "--to", "legacy", "--width", "32",
                    "--output-width", "64").code == 0
    assert _width(both) == 64
    # Where the target has no width, --width (an input hint too) is no error.
    assert xcformat("convert", v2_image, tmp_path / "v2", "--to", "v2", "--width", "32").code \
        == 0


# -- the sender ---------------------------------------------------------------------------------
def test_the_sender_passes_over_what_cannot_take_the_wrapper():
    accepts = [messages.Accept("aligned", False, 1, 1, 0), messages.Accept("v2", True, 2, 3, 0)]
    offer = (OPTIONS["aligned"], OPTIONS["v2-align"])
    assert pick(offer, accepts, None) is OPTIONS["aligned"]
    assert pick(offer, accepts, None, WriteOptions(wrap="libxl")) is OPTIONS["v2-align"]
    assert pick(offer, accepts, None, WriteOptions(wrap="xend")) is None


def test_the_sender_writes_the_version_it_announced(tmp_path, image):
    # An aligned file that holds a version 2 v2 stream: the announcement (made from the first
    # bytes: aligned) is version 3, and so is what arrives.
    v2, held = tmp_path / "in.v2", tmp_path / "in.aligned"
    assert xcformat("convert", image, v2, "--to", "v2", "--format-version", "2",
                    "--drop", "unmapped-pfns").code == 0
    assert xcformat("convert", v2, held, "--to", "aligned").code == 0
    out = tmp_path / "got"
    sent, received = transfer(held, out, receive_settings(accept=(OPTIONS["v2"],)),
                              SendSettings(offer=(OPTIONS["v2"],)))
    assert sent.option is OPTIONS["v2"] and received.format == "v2"
    with open_source(str(out)) as source:
        assert formats.detect(source)[1].facts["version"] == 3


@pytest.mark.parametrize("command", ["info", "validate"])
@pytest.mark.parametrize("flag", ["--input-width", "--width"])
def test_every_reading_command_hands_the_input_width_to_the_reader(image, tmp_path, command,
                                                                   flag):
    aligned = tmp_path / "a"
    assert xcformat("convert", image, aligned, "--to", "aligned").code == 0
    done = xcformat(command, aligned, "--json", flag, "32")
    assert done.code == 0, done.stderr
    assert [f["message"] for f in json.loads(done.stdout)["findings"]] == \
        ["--input-width 32 ignored: the file records 64"]


def test_send_refuses_a_wrapper_its_fallback_cannot_take_before_it_connects(image, tmp_path):
    done = xcformat("send", image, "127.0.0.1:9", "--to", "aligned", "--wrap", "xl")
    assert done.code == 2 and "--wrap xl: aligned files have no wrappers" in done.stderr
    assert "cannot connect" not in done.stderr
