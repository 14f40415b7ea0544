"""on_region: every byte of a legacy image belongs to exactly one reported structure."""

import pytest

import image
from xcformat.formats import Hints
from xcformat.io import open_source
from xcformat.layout import KINDS
from xcformat.legacy import LegacyReader
from xcformat.records import GuestType

CASES = {
    "xl-pv": (lambda: image.xl(image.pv(64, 32)), Hints()),
    "pv-no-ext-info": (lambda: image.pv(32, 32, ext=(), chunks=False),
                       Hints(guest=GuestType.PV)),
    "xend-hvm-remus": (lambda: image.xend(image.hvm(32, checkpoints=2,
                                                    qemu=b"RemusDeviceModelState")), Hints()),
    "hvm-2007": (lambda: image.hvm(64, dev2007=True, qemu=b"QemuDeviceModelRecord"),
                 Hints(guest=GuestType.HVM)),
    "pv-tmem": (lambda: image.pv(64, 64, before=image.tmem()), Hints()),
}


@pytest.mark.parametrize("name", CASES)
def test_regions_tile_the_file_in_order(tmp_path, name):
    build, hints = CASES[name]
    img = build()
    path = tmp_path / "img"
    path.write_bytes(bytes(img))
    regions = []
    with open_source(str(path)) as source:
        reader = LegacyReader(source, hints)
        reader.on_region = regions.append
        for _ in reader.records():
            pass
    position = 0
    for region in regions:
        assert region.offset == position, region
        assert region.length > 0 and region.kind in KINDS
        position += region.length
    assert position == len(img.data)
    data_regions = [r for r in regions if r.kind == "page-data"]
    assert data_regions and all(r.length % 4096 == 0 for r in data_regions)
    assert data_regions[0].offset == img.at["batch.pages"]
