"""Acceptance: the project's legacy reader and writer on images written independently of them.

Every variant is identified with the right facts, read with every page's final bytes and every
tail context as :func:`xcformat.synth.expected` says, found valid, and rewritten byte-identically.
"""

import pytest
from hypothesis import HealthCheck, given, settings

from xcformat.errors import FormatError
from xcformat.formats import Hints, WriteOptions
from xcformat.io import open_sink, open_source
from xcformat.legacy.reader import LegacyReader
from xcformat.legacy.writer import LegacyWriter
from xcformat.records import GuestType, ImageHeader, PageBatch, VcpuContext, VcpuInfo, Wrapper
from xcformat.synth import expected, write_legacy
from xcformat.testing import guest_specs

from .test_consistency import SPECS, _name


def _hints(spec):
    return Hints(guest=GuestType(spec.guest), toolstack_bits=spec.toolstack_bits)


def _check(spec, tmp_path):
    e = expected(spec)
    image, copy = tmp_path / "image", tmp_path / "copy"
    write_legacy(spec, image)
    pages, contexts, header, wrapper, online = {}, {}, None, None, None
    with open_source(str(image)) as source:
        reader = LegacyReader(source, _hints(spec))
        for record in reader.records():
            if isinstance(record, PageBatch):
                at = 0
                for pfn, kind in zip(record.pfns, record.types):
                    if kind < 0xD:
                        pages[pfn] = bytes(record.data[at:at + 4096])
                        at += 4096
            elif isinstance(record, VcpuContext):
                contexts[record.vcpu_id] = record.context
            elif isinstance(record, ImageHeader):
                header = record
            elif isinstance(record, Wrapper):
                wrapper = record.kind
            elif isinstance(record, VcpuInfo):
                online = tuple(sorted(record.online))
        errors = [f for f in reader.findings if f.level == "error"]
    assert not errors
    assert (header.guest.value, header.p2m_size, header.toolstack_bits) == (
        e.guest, e.p2m_size, e.toolstack_bits)
    assert header.guest_bits == e.guest_bits
    assert wrapper == e.wrapper
    assert online in (None, e.vcpus)
    assert pages == e.contents()
    if spec.guest == "pv":
        assert contexts == {v: e.vcpu_context(v) for v in (e.vcpus if online else (0,))}
    with open_source(str(image)) as source, open_sink(str(copy)) as sink:
        LegacyWriter(sink, WriteOptions()).write(LegacyReader(source, _hints(spec)).records())
    assert copy.read_bytes() == image.read_bytes()


@pytest.mark.parametrize("spec", [s for s in SPECS if not s.compression], ids=_name)
def test_every_variant_reads_validates_and_rewrites(spec, tmp_path):
    _check(spec, tmp_path)


def test_remus_compression_is_refused_at_the_enable_chunk(tmp_path):
    # -12/-13 in a file are rejected (decoding needs the receiver's page cache).
    spec = next(s for s in SPECS if s.compression)
    image = tmp_path / "image"
    write_legacy(spec, image)
    with open_source(str(image)) as source, pytest.raises(FormatError, match="-13") as raised:
        for _ in LegacyReader(source, _hints(spec)).records():
            pass
    assert raised.value.offset == expected(spec).chunk_offsets[-13][0]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(guest_specs())
def test_any_synthetic_image_reads_and_rewrites(tmp_path, spec):
    _check(spec, tmp_path)
