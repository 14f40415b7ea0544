"""``--to auto --for``: the table picks per reader and toolstack width, and the docs page is the
table."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from tests.negotiate import toyformats

from xcformat import formats
from xcformat.errors import EnvironmentProblem, UnsupportedError
from xcformat.negotiate import targets

DOCS = Path(__file__).resolve().parents[2] / "docs" / "compatibility.rst"


def test_docs_compatibility_page_is_generated_from_the_table():
    assert DOCS.read_text() == targets.rst_table(), \
        "stale: run python -m xcformat.negotiate.targets > docs/compatibility.rst"


def with_writers(monkeypatch, *names, plain_only=()):
    """A registry in which exactly ``names`` can be written, as the real formats can (but those
    in ``plain_only``, whose capabilities declare no aligned variant)."""
    chosen = {n: toyformats.REGISTRY[n] for n in names}
    for name in plain_only:
        caps = dataclasses.replace(chosen[name].capabilities, aligned=None)
        chosen[name] = dataclasses.replace(chosen[name], capabilities=caps)
    monkeypatch.setattr(formats, "registry", lambda: chosen)


@pytest.mark.parametrize("target, width, expected", [
    ("xen-3.0", 32, "legacy-align"),
    ("xen-3.0", 64, "legacy"),        # -9 unknown before 4.1: no filler variant at W=64
    ("xen-3.0", None, "legacy"),      # width unknown: only what suits both widths
    ("xen-4.0", 64, "legacy"),
    ("xen-4.1", 64, "legacy-align"),
    ("xen-4.5", None, "legacy-align"),
    ("xen-4.6+", 64, "v2-align"),     # written as version 2 (see below)
    ("xen-4.14+", 64, "v2-align"),
    ("verify-stream-v2", None, "v2-align"),
    ("convert-legacy-stream", 64, "legacy-align"),
    ("xcformat", 64, "aligned"),
])
def test_for_picks_the_first_choice_the_reader_accepts(monkeypatch, target, width, expected):
    with_writers(monkeypatch, "aligned", "v2", "legacy")
    option, passed = targets.choose(targets.get(target), width)
    assert option.name == expected
    assert len(passed) == [p.option for p in targets.TARGETS[target].picks].index(expected)


def test_for_falls_back_when_a_writer_is_missing_and_says_why(monkeypatch):
    with_writers(monkeypatch, "v2", "legacy")
    option, passed = targets.choose(targets.get("xcformat"), 64)
    assert option.name == "v2-align"
    assert passed == ["aligned: this xcformat has no writer for it"]


def test_an_aligned_variant_the_writer_lacks_is_passed_over_with_the_reason(monkeypatch):
    with_writers(monkeypatch, "v2", "legacy", plain_only=("legacy",))
    option, passed = targets.choose(targets.get("xen-4.5"), 64)
    assert option.name == "legacy"
    assert passed == ["legacy-align: this xcformat's legacy writer has no aligned variant yet"]


def test_for_refuses_when_nothing_fits(monkeypatch):
    with_writers(monkeypatch, "legacy")
    with pytest.raises(UnsupportedError, match="v2-align: this xcformat has no writer"):
        targets.choose(targets.get("xen-4.14+"), 64)


def test_for_xen_4_6_writes_v2_version_2_whatever_the_input(monkeypatch):
    # Xen 4.6-4.13 restore version 2 only; the v2 writer writes it from any input on request.
    with_writers(monkeypatch, "aligned", "v2", "legacy")
    option, passed = targets.choose(targets.get("xen-4.6+"), None)
    assert option.name == "v2-align" and not passed
    assert option.write_options(formats.WriteOptions()).version == 2
    assert targets.choose(targets.get("xen-4.14+"), None)[0].write_options(
        formats.WriteOptions()).version is None


def test_unknown_target_is_a_usage_error():
    with pytest.raises(EnvironmentProblem, match="xen-4.6"):
        targets.get("xen-9")
