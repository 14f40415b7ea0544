"""One descriptor per record kind: every record class has one, and every writer's handler table
holds exactly the kinds whose descriptors say that format carries them."""

import inspect
from dataclasses import dataclass

import pytest

from xcformat import kinds, records
from xcformat.drops import KINDS
from xcformat.errors import UnsupportedError
from xcformat.formats import WriteOptions, registry
from xcformat.io import open_sink
from xcformat.kinds import KIND_OF, carried_by, kind
from xcformat.synth import GuestSpec
from xcformat.testing.audit.runner import DROP

from tests.test_drops import _records

WRITERS = {name: fmt for name, fmt in registry().items() if fmt.writer is not None}


def _handlers(name: str) -> frozenset[type]:
    return frozenset(WRITERS[name].writer(None, WriteOptions()).handlers)


def _mismatches() -> dict[str, tuple[set, set]]:
    """Per writer: (kinds it handles that no descriptor gives it, kinds it forgot)."""
    out = {}
    for name in WRITERS:
        table, said = _handlers(name), carried_by(name)
        if table != said:
            out[name] = ({c.__name__ for c in table - said}, {c.__name__ for c in said - table})
    return out


def test_every_record_class_has_a_descriptor():
    classes = [cls for _, cls in inspect.getmembers(records, inspect.isclass)
               if issubclass(cls, records.Record) and cls is not records.Record]
    assert len(classes) >= 23
    assert [c.__name__ for c in classes if c not in KIND_OF] == []
    assert all(KIND_OF[c].cls is c and KIND_OF[c].noun and KIND_OF[c].guests for c in classes)


def test_descriptors_name_only_formats_that_have_writers():
    named = {f for k in KIND_OF.values() for f in k.formats}
    assert named <= set(WRITERS)
    assert set(WRITERS) == {"aligned", "core", "legacy", "v2"}


def test_each_writer_handles_exactly_the_kinds_its_descriptors_say_it_carries():
    assert _mismatches() == {}


def test_a_kind_whose_descriptor_names_a_format_that_lacks_its_handler_fails_the_check():
    @kind("a test record", records.BOTH, "legacy v2")
    @dataclass(frozen=True)
    class Forgotten(records.Record):
        data: bytes = b""
    try:
        found = _mismatches()
    finally:
        del KIND_OF[Forgotten]
    assert found == {"legacy": (set(), {"Forgotten"}), "v2": (set(), {"Forgotten"})}


def test_the_drop_vocabulary_is_the_descriptors_and_every_word_is_used():
    assert list(KINDS) == [d.name for d in kinds.DROP_KINDS]
    used = {k.drop for k in KIND_OF.values() if k.drop}
    used |= {d for k in KIND_OF.values() for d in k.item_drops.values()}
    assert set(kinds.DROP_KINDS) - used == {kinds.UNKNOWN_RECORD}


def test_what_a_restore_needs_is_what_the_audit_never_drops():
    assert kinds.restore_needs() == {"vcpu-context", "shared-info", "hvm-context", "hvm-params"}
    assert set(DROP.split(",")) == set(KINDS) - kinds.restore_needs()


def test_opaque_items_have_their_own_drop_kinds():
    assert kinds.drop_of(records.Opaque("legacy", "tmem-extra")) is kinds.TMEM
    assert kinds.drop_of(records.Opaque("v2", "record-00ff")) is kinds.UNKNOWN_RECORD
    assert kinds.drop_of(records.Toolstack(b"")) is kinds.TOOLSTACK
    assert kinds.drop_of(records.End()) is kinds.UNKNOWN_RECORD


@pytest.mark.parametrize("target,record", [
    ("legacy", records.VcpuMsrs(0, b"\x01" * 16)),
    ("legacy", records.CpuPolicy("msr", b"\x01" * 8)),
])
def test_a_kind_a_format_does_not_carry_is_refused_or_dropped_by_its_descriptor(tmp_path, target,
                                                                               record):
    """The writer has no handler for it: the shared sentence names its kind's drop word."""
    found = _records(tmp_path, GuestSpec(pages=16))
    found.insert(-1, record)
    drop = KIND_OF[type(record)].drop
    with open_sink(str(tmp_path / "out")) as sink, \
            pytest.raises(UnsupportedError, match=rf"^{target} cannot carry {drop.what}.*"
                                                  rf"pass --drop {drop.name} to leave it out$"):
        WRITERS[target].writer(sink, WriteOptions()).write(found)
    said = []
    with open_sink(str(tmp_path / "out")) as sink:
        WRITERS[target].writer(sink, WriteOptions(say=said.append,
                                                  drop=frozenset({drop.name}))).write(found)
    assert f"dropped {drop.what} (--drop {drop.name})" in said


@pytest.mark.parametrize("spec,some", [
    (GuestSpec(pages=16, xsave=True, wrapper="xl"),
     {records.Wrapper, records.P2MFrames, records.VcpuXsave, records.SharedInfo}),
    (GuestSpec(guest="hvm", pages=16), {records.HvmParams, records.HvmContext,
                                        records.EmulatorContext}),
], ids=["pv", "hvm"])
def test_each_reader_yields_only_kinds_its_format_carries(tmp_path, spec, some):
    """What a format's reader yields, its own writer has a handler for (a rewrite loses nothing
    the descriptors do not say)."""
    import xcformat
    from xcformat.synth import legacy_bytes

    source = tmp_path / "src.img"
    source.write_bytes(legacy_bytes(spec))
    seen = {}
    for name in WRITERS:
        out = tmp_path / f"out.{name}"
        with xcformat.open(str(source)) as image:
            image.convert(str(out), name, drop=KINDS, on_message=lambda _: None)
        with xcformat.open(str(out)) as image:
            seen[name] = {type(record) for record in image.records()}
    with xcformat.open(str(source)) as image:
        seen["legacy"] |= {type(record) for record in image.records()}
    assert {name: {c.__name__ for c in found - carried_by(name)}
            for name, found in seen.items()} == dict.fromkeys(WRITERS, set())
    assert some <= seen["legacy"] and some <= seen["aligned"]
