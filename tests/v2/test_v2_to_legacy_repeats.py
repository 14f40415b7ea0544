"""A v2 PAGE_DATA record that sends a pfn twice (v2 --align of a tiny guest) goes to legacy as
batches that never name a pfn twice, the last copy still winning (end to end, through files)."""

import pytest

from v2_helpers import pages_by_pfn, read

from xcformat.formats import Hints, WriteOptions, get
from xcformat.io import open_sink, open_source
from xcformat.legacy.options import LegacyOptions
from xcformat.records import PageBatch

synth = pytest.importorskip("xcformat.synth")
pytest.importorskip("xcformat.legacy")

from test_v2_from_legacy import convert  # noqa: E402  (after the skips)


def legacy_pages(path):
    with open_source(str(path)) as src:
        reader = get("legacy").reader(src, Hints())
        batches = [PageBatch(r.pfns, r.types, memoryview(bytes(r.data)))
                   for r in reader.records() if isinstance(r, PageBatch)]
        return batches, reader.findings


@pytest.mark.parametrize("bits", [64, 32])
def test_a_tiny_guest_through_v2_align_goes_to_legacy_with_its_final_pages(tmp_path, bits):
    spec = synth.GuestSpec(guest="pv", guest_bits=bits, pages=12, vcpus=1)
    convert(spec, tmp_path / "tiny.v2", align=True)
    v2_records, _ = read(tmp_path / "tiny.v2")
    repeating = [r for r in v2_records if isinstance(r, PageBatch)
                 and len(set(r.pfns)) < len(r.pfns)]
    assert repeating, "v2 --align of a tiny guest repeats pfns inside a record"
    with open_source(str(tmp_path / "tiny.v2")) as src, \
            open_sink(str(tmp_path / "tiny.legacy")) as sink:
        get("legacy").writer(sink, WriteOptions(
            format_options=LegacyOptions(toolstack_bits=64), drop=frozenset({"emulator"}),
            say=lambda m: None)).write(
            get("v2").reader(src, Hints()).records())
    batches, findings = legacy_pages(tmp_path / "tiny.legacy")
    assert [f for f in findings if f.level == "error"] == []
    assert all(len(set(b.pfns)) == len(b.pfns) for b in batches)
    assert pages_by_pfn(batches) == pages_by_pfn(v2_records)

