"""No ``convert`` leaves a file that ``validate`` rejects, for every (source, target) pair.

Valid inputs of each format (synthetic legacy guests of every variant, and what xcformat makes
of them in the other formats) go to every target, in its variants and wrappers, with nothing or
everything allowed to be dropped.  Each conversion either is refused (exit 1, one message, no
file) by the writer itself, or writes a file that ``validate`` accepts.  The output check that
``convert`` runs before publishing is the safety net behind that: it must never be what refuses
a valid input, so a refusal naming it fails here too.  A broken writer shows the net holds.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xcformat.drops import KINDS
from xcformat.legacy import writer as legacy_writer
from xcformat.synth import GuestSpec, write_legacy
from xcformat.testing import mutations, spec_images
from xcformat.testing.v2 import v2_bytes

from .cli_runner import xcformat

SOURCES = ("legacy", "v2", "aligned", "core")
#: target -> the option sets it is written with
TARGETS = {
    "legacy": ([], ["--align"], ["--wrap", "xl"], ["--align", "--wrap", "xl"]),
    "v2": ([], ["--align"], ["--wrap", "libxl"], ["--wrap", "xl", "--align"],
           ["--format-version", "2"]),
    "aligned": ([], ["--no-index"]),
    "core": ([],),
}
ALL_KINDS = ["--drop", ",".join(KINDS)]
SELF_CHECK = "would fail xcformat's own check"
#: The 2007 development HVM layout has no v2 or aligned form worth drawing here.
VARIANTS = ("3.0", "3.0.4-pae", "3.1", "3.2", "4.5", "remus")


def hints(spec: GuestSpec) -> list[str]:
    return ["--guest", spec.guest, "--width", str(spec.toolstack_bits)]


def source_image(tmp: Path, spec: GuestSpec, image: bytes, source: str, data) -> tuple[Path,
                                                                                      list]:
    """The input in ``source`` format, and the options that read it; None if it has none."""
    legacy = tmp / "in.legacy"
    legacy.write_bytes(image)
    if source == "legacy":
        return legacy, hints(spec)
    path = tmp / f"in.{source}"
    if source == "v2":
        try:
            path.write_bytes(v2_bytes(spec, align=data.draw(st.booleans()),
                                      wrap=data.draw(st.sampled_from((None, "libxl", "xl")))))
        except Exception:                   # what v2 cannot carry: no v2 input of this guest
            return None, []
        return path, []
    made = xcformat("convert", legacy, path, "--to", source, "--no-progress", *hints(spec),
                    *ALL_KINDS)
    return (path, []) if made.code == 0 else (None, [])


def check_outcome(source: Path, read: list, target: str, options: list, out: Path,
                  guest: str) -> None:
    done = xcformat("convert", source, out, "--to", target, "--no-progress", *read, *options)
    if done.code == 0:
        extra = ["--guest", guest] if target == "legacy" else []
        verdict = xcformat("validate", out, *extra)
        assert verdict.code == 0, (options, done.stderr, verdict.output)
    else:
        assert done.code == 1, done.output
        assert not out.exists()
        message = [line for line in done.stderr.splitlines() if line.startswith("xcformat:")]
        assert message and "Traceback" not in done.stderr, done.stderr
        assert SELF_CHECK not in done.stderr, done.stderr


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("source", SOURCES)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.data_too_large])
@given(case=spec_images(max_pages=24, variant=st.sampled_from(VARIANTS)), data=st.data())
def test_a_valid_image_converts_to_a_valid_file_or_is_refused(source, target, case, data):
    spec, image = case
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path, read = source_image(tmp, spec, image, source, data)
        if path is None or xcformat("validate", path, *read).code != 0:
            return                      # no valid input of this guest in this format
        options = data.draw(st.sampled_from(TARGETS[target]))
        if data.draw(st.booleans()):
            options = [*options, *ALL_KINDS]
        check_outcome(path, read, target, options, tmp / "out", spec.guest)


FIXTURES = sorted((Path(__file__).parents[1] / "v2" / "fixtures").glob("xen-converted-*"))


@pytest.mark.parametrize("drop", [[], ALL_KINDS], ids=["keep", "drop"])
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda path: path.name)
def test_every_fixture_converts_to_a_valid_file_or_is_refused(tmp_path, fixture, target, drop):
    """Streams Xen's own converter wrote, to each target in each of its variants."""
    guest = "hvm" if "hvm" in fixture.name else "pv"
    for n, options in enumerate(TARGETS[target]):
        check_outcome(fixture, [], target, [*options, *drop], tmp_path / f"out{n}", guest)


#: the guests whose images are mutated: a PV one with two vCPUs, an HVM one
MUTATED = {"pv": GuestSpec(pages=20, vcpus=2), "hvm": GuestSpec(guest="hvm", pages=20)}


@functools.cache
def bases() -> dict:
    """source format -> guest -> (image bytes, the options that read it)."""
    made: dict = {source: {} for source in SOURCES}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for guest, spec in MUTATED.items():
            write_legacy(spec, tmp / f"{guest}.legacy")
            made["legacy"][guest] = ((tmp / f"{guest}.legacy").read_bytes(), hints(spec))
            for source in ("v2", "aligned", "core"):
                out = tmp / f"{guest}.{source}"
                wrap = ["--wrap", "libxl"] if source == "v2" and guest == "hvm" else []
                assert xcformat("convert", tmp / f"{guest}.legacy", out, "--to", source,
                                "--no-progress", *hints(spec), *wrap, *ALL_KINDS).code == 0
                made[source][guest] = (out.read_bytes(), [])
    return made


@pytest.mark.parametrize("source", SOURCES)
@settings(max_examples=60, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_a_mutant_that_still_validates_converts_to_a_valid_file_or_is_refused(source, data):
    """What a fuzzer finds: an image changed in a way its own validator lets through."""
    guest = data.draw(st.sampled_from(sorted(MUTATED)))
    image, read = bases()[source][guest]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"in.{source}"
        path.write_bytes(data.draw(mutations(image)))
        if xcformat("validate", path, *read).code != 0:
            return
        for target, variants in TARGETS.items():
            options = [*data.draw(st.sampled_from(variants)), *ALL_KINDS]
            check_outcome(path, read, target, options, Path(tmp) / f"out.{target}", guest)


def test_a_writer_that_writes_a_broken_file_is_caught_before_it_is_published(tmp_path,
                                                                              monkeypatch):
    """The 64-byte extended context written as it came, as the legacy writer once did."""
    source = tmp_path / "in.v2"
    write_legacy(GuestSpec(pages=24, vcpus=2), tmp_path / "in.legacy")
    assert xcformat("convert", tmp_path / "in.legacy", source, "--to", "v2",
                    "--no-progress", *ALL_KINDS).code == 0
    monkeypatch.setattr(legacy_writer.LegacyWriter, "_extended_slot",
                        lambda self, vcpu, ext: ext.data[:64])
    out = tmp_path / "out"
    done = xcformat("convert", source, out, "--to", "legacy", "--no-progress")
    assert done.code == 1
    assert f"{out} not written: the legacy image would fail xcformat's own check" in done.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == [tmp_path / "in.legacy", source]
