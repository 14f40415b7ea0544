"""Legacy images of every synthetic variant convert to v2, plain and --align, with their pages.

Needs the legacy reader (``xcformat.legacy``) and the independent generator (``xcformat.synth``);
skipped until both are in the tree."""

import itertools

import pytest

from v2_helpers import page_offsets, pages_by_pfn, read

from xcformat.errors import UnsupportedError
from xcformat.formats import Hints, WriteOptions, get
from xcformat.io import open_sink, open_source
from xcformat.records import GuestType

synth = pytest.importorskip("xcformat.synth")
pytest.importorskip("xcformat.legacy")

#: What v2 cannot carry that these guests hold; the conversions below allow dropping it.
DROPS = frozenset({"config", "unmapped-pfns", "tmem", "verify-mode"})


def _specs():
    for name, variant in synth.VARIANTS.items():
        for guest, bits, wrapper in itertools.product(sorted(variant.guests), (32, 64),
                                                      sorted({None, *variant.wrappers}, key=str)):
            try:
                spec = synth.GuestSpec(guest=guest, variant=name, toolstack_bits=bits,
                                       wrapper=wrapper, pages=24,
                                       vcpus=2 if guest == "pv" and variant.vcpu_info else 1)
            except ValueError:
                continue
            yield pytest.param(spec, id=f"{name}-{guest}-w{bits}-{wrapper}")


SPECS = list(_specs())
#: Wrapped images are converted with --align only (the plain path is the same writer).
CASES = [pytest.param(p.values[0], align, id=f"{p.id}-{'align' if align else 'plain'}")
         for p in SPECS for align in (False, True) if align or p.values[0].wrapper is None]


def convert(spec, path, **options):
    image = path.with_suffix(".legacy")
    image.write_bytes(synth.legacy_bytes(spec))
    said = []
    hints = Hints(guest=GuestType(spec.guest), toolstack_bits=spec.toolstack_bits)
    wrap = "libxl" if spec.guest == "hvm" and spec.wrapper != "xl" else None
    with open_source(str(image)) as source, open_sink(str(path)) as sink:
        records = get("legacy").reader(source, hints).records()
        get("v2").writer(sink, WriteOptions(wrap=wrap, drop=DROPS, say=said.append,
                                            **options)).write(records)
    return path.read_bytes(), said


@pytest.mark.parametrize("spec,align", CASES)
def test_every_variant_converts_with_its_pages(tmp_path, spec, align):
    if spec.variant == "2007-hvm":
        with pytest.raises(UnsupportedError, match="vCPU context"):
            convert(spec, tmp_path / "out", align=align)
        return
    data, said = convert(spec, tmp_path / "out", align=align)
    records, findings = read(tmp_path / "out")
    assert [f for f in findings if f.level == "error"] == []
    assert pages_by_pfn(records) == synth.expected(spec).contents()
    if align:
        start = data.index(b"\xff" * 8 + b"XENF")
        assert all(offset % 4096 == 0 for offset in page_offsets(data, start))
    if spec.wrapper == "xend":
        assert any("config" in message for message in said)
