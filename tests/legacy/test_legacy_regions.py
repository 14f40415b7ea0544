"""on_region: every byte of a legacy image belongs to exactly one reported structure."""

import pytest

from helpers import hints_for, read_all
from xcformat.regions import KINDS
from xcformat.synth import GuestSpec, expected, legacy_bytes

CASES = {
    "xl-pv-64-32-xsave": GuestSpec(guest_bits=32, wrapper="xl", xsave=True, pages=16),
    "pv-no-ext-info": GuestSpec(variant="3.0", toolstack_bits=32, pages=16),
    "xend-hvm-remus": GuestSpec(variant="remus", guest="hvm", wrapper="xend", pages=16,
                                checkpoints=2),
    "hvm-2007-xend": GuestSpec(variant="2007-hvm", guest="hvm", wrapper="xend", pages=16),
    "pv-tmem": GuestSpec(tmem=True, pages=16),
}


@pytest.mark.parametrize("name", CASES)
def test_regions_tile_the_file_in_order(tmp_path, name):
    spec = CASES[name]
    data = legacy_bytes(spec)
    path = tmp_path / "img"
    path.write_bytes(data)
    regions = []
    read_all(path, hints_for(spec), regions.append)
    position = 0
    for region in regions:
        assert region.offset == position, region
        assert region.length > 0 and region.kind in KINDS
        position += region.length
    assert position == len(data)
    pages = [r for r in regions if r.kind == "page-data"]
    assert sum(r.length for r in pages) == 4096 * expected(spec).page_records
    assert pages[0].offset == expected(spec).first_batch_offset + [
        r for r in regions if r.kind == "batch-header"][0].length
