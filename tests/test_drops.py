"""One --drop vocabulary: every writer names the same thing the same way, in the same sentences."""

import pytest

from xcformat.cli import main
from xcformat.drops import KINDS
from xcformat.kinds import KIND_OF
from xcformat.errors import UnsupportedError
from xcformat.formats import WriteOptions, get
from xcformat.io import open_sink
from xcformat.records import CpuPolicy, Opaque
from xcformat.synth import GuestSpec, legacy_bytes

from tests.legacy.helpers import read_all


def test_every_kind_the_tables_name_is_described_and_lowercase():
    named = {k.drop.name for k in KIND_OF.values() if k.drop}
    named |= {d.name for k in KIND_OF.values() for d in k.item_drops.values()}
    assert named <= set(KINDS)
    assert all(kind == kind.lower() and " " not in kind for kind in KINDS)


def _records(tmp_path, spec):
    (tmp_path / "src.img").write_bytes(legacy_bytes(spec))
    records, _, _ = read_all(tmp_path / "src.img")
    return records


def _write(tmp_path, target, records, **options):
    said = []
    with open_sink(str(tmp_path / f"out.{target}")) as sink:
        get(target).writer(sink, WriteOptions(say=said.append, **options)).write(records)
    return said


@pytest.mark.parametrize("target,options", [("legacy", {}), ("v2", {"version": 2})])
def test_a_cpu_policy_is_refused_and_dropped_in_the_same_words(tmp_path, target, options):
    records = _records(tmp_path, GuestSpec(pages=16))
    records.insert(1, CpuPolicy("cpuid", bytes(24)))
    with pytest.raises(UnsupportedError, match=rf"^{target} cannot carry the .*policy.*; "
                                               r"pass --drop cpu-policy to leave it out$"):
        _write(tmp_path, target, records, **options)
    said = _write(tmp_path, target, records, drop=frozenset({"cpu-policy"}), **options)
    assert [s for s in said if s.startswith("dropped")][0].endswith("(--drop cpu-policy)")


@pytest.mark.parametrize("target", ["v2", "core"])
def test_tmem_is_refused_and_dropped_in_the_same_words(tmp_path, target):
    records = _records(tmp_path, GuestSpec(pages=16))
    records.insert(-1, Opaque("legacy", "tmem-extra", b"x"))
    with pytest.raises(UnsupportedError, match=rf"^{target} cannot carry transcendent memory "
                                               r"\(tmem\) state; pass --drop tmem"):
        _write(tmp_path, target, records)
    said = _write(tmp_path, target, records, drop=frozenset({"tmem"}))
    assert "dropped transcendent memory (tmem) state (--drop tmem)" in said


def test_core_reports_what_it_leaves_out_with_the_drop_kinds(tmp_path):
    records = _records(tmp_path, GuestSpec(pages=16, xsave=True))
    said = _write(tmp_path, "core", records)
    line = next(s for s in said if s.startswith("dropped what core has no place for: "))
    assert "vCPU xsave state (--drop xsave)" in line and "(--drop tsc)" in line


def test_an_unknown_drop_kind_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "src.img").write_bytes(legacy_bytes(GuestSpec(pages=16)))
    code = main(["convert", str(tmp_path / "src.img"), str(tmp_path / "out"), "--to", "v2",
                 "--drop", "CpuPolicy,tmem", "--no-progress"])
    assert code == 2
    assert "--drop CpuPolicy: not a kind" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_the_convert_guide_lists_every_kind():
    """The guide's list is generated from the vocabulary (the docs extension's directive)."""
    from pathlib import Path
    guide = (Path(__file__).parent.parent / "docs/guide/convert.rst").read_text()
    assert ".. xcformat-drop-kinds::" in guide
