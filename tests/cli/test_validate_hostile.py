"""Reading on past errors must not open a way to tracebacks: validate, on mutated images of
every format, ends with findings and a verdict, never an exception that is not ours (the
in-process runner lets those through, failing the test)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings

from tests.integration.cli_runner import xcformat
from xcformat.synth import GuestSpec, legacy_bytes
from xcformat.testing.hostile import mutations

TARGETS = {"legacy": None, "v2": ["v2", "--drop", "unmapped-pfns"],
           "aligned": ["aligned"], "core": ["core"]}


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, bytes]:
    """A small PV guest in every format."""
    where = tmp_path_factory.mktemp("images")
    src = where / "pv.img"
    src.write_bytes(legacy_bytes(GuestSpec(pages=40, vcpus=2, xsave=True)))
    out = {}
    for name, target in TARGETS.items():
        path = src if target is None else where / f"pv.{name}"
        if target is not None:
            assert xcformat("convert", src, path, "--to", *target, "-q").code == 0
        out[name] = path.read_bytes()
    return out


@pytest.mark.parametrize("name", list(TARGETS))
def test_validate_survives_mutations(name, images, tmp_path_factory):
    path = tmp_path_factory.mktemp(name) / "mutated"

    @settings(max_examples=120, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(mutations(images[name]))
    def check(data):
        path.write_bytes(data)
        result = xcformat("validate", path, "--json")
        assert result.code in (0, 1, 2), result.output
        if not result.stdout:      # refused before any check: needs --guest, or unsupported
            assert result.code != 0 and result.stderr.startswith("xcformat: ")
            return
        report = json.loads(result.stdout)
        assert report["valid"] == (result.code == 0)
        summary = report["summary"]
        assert summary["error"] == sum(f["level"] == "error" for f in report["findings"])
        assert (summary["fatal"] is None) == (summary["stopped_at"] is None)

    check()

