"""Every variant's image, walked by the independent test walker, holds exactly what
``expected`` says, and its guest is consistent the way a strict validator checks it."""

import struct

import pytest

from xcformat.synth import GuestSpec, expected, legacy_bytes
from xcformat.synth.variants import VARIANTS

from .walker import hvm_records, walk

SPECS = [
    GuestSpec(xsave=True, vcpus=(0, 1, 3), special_pages=True, tmem=True, wrapper="xl"),
    GuestSpec(guest_bits=32, batch=100, vcpus=2, xsave=True, xsave_per_vcpu=True),
    GuestSpec(toolstack_bits=32, guest_bits=32, xsave=True, special_pages=True),
    GuestSpec(toolstack_bits=32, guest_bits=64, pages=1200, batch=1000),
    GuestSpec(guest="hvm", pages=300, vcpus=2, special_pages=True, batch=64),
    GuestSpec(guest="hvm", toolstack_bits=32, pages=40, wrapper="xl"),
    GuestSpec(guest="hvm", pages=40, qemu="QemuDeviceModelRecord"),
    GuestSpec(guest="hvm", pages=200, live=True, tmem=True, special_pages=True, batch=50),
    GuestSpec(live=True, vcpus=2, xsave=True, batch=30),
    GuestSpec(verify=True, guest_bits=32, special_pages=True),
    GuestSpec(variant="remus", pages=100, vcpus=2, xsave=True, tmem=True, checkpoints=4,
              wrapper="xend"),
    GuestSpec(variant="remus", guest="hvm", pages=260, special_pages=True, checkpoints=2),
    GuestSpec(variant="remus", pages=60, checkpoints=10, compression=True, batch=5),
    GuestSpec(variant="3.2", guest_bits=32, vcpus=2, special_pages=True, wrapper="xend"),
    GuestSpec(variant="3.2", guest="hvm", toolstack_bits=32, pages=250),
    GuestSpec(variant="3.1", toolstack_bits=32, special_pages=True),
    GuestSpec(variant="3.1", toolstack_bits=64, vcpus=2),
    GuestSpec(variant="3.1", guest="hvm", pages=200, qemu=None),
    GuestSpec(variant="3.0.4-pae", toolstack_bits=32, special_pages=True, wrapper="xend"),
    GuestSpec(variant="3.0", toolstack_bits=64, batch=10),
    GuestSpec(variant="3.0", toolstack_bits=32, verify=True),
    GuestSpec(variant="3.1", guest="hvm", pages=100, live=True, batch=40),
    GuestSpec(variant="2007-hvm", guest="hvm", pages=200, vcpus=2, wrapper="xend"),
    GuestSpec(variant="2007-hvm", guest="hvm", toolstack_bits=32, pages=20, qemu=None),
]


def test_every_variant_is_covered():
    assert {(s.variant, s.guest) for s in SPECS} == {
        (name, guest) for name, v in VARIANTS.items() for guest in v.guests}


def _name(spec):
    return f"{spec.variant}-{spec.guest}-{spec.toolstack_bits}-{spec.guest_bits}"


def _walked(spec):
    data = legacy_bytes(spec)
    found = walk(data, w=spec.toolstack_bits // 8, guest=spec.guest,
                 hvm_tail=spec.info.hvm_tail, typed=spec.info.typed_hvm_pfns)
    return spec, expected(spec), data, found


@pytest.fixture(params=SPECS, ids=_name)
def case(request):
    return _walked(request.param)


@pytest.fixture(params=[s for s in SPECS if s.guest == "pv"], ids=_name)
def pv_case(request):
    return _walked(request.param)


@pytest.fixture(params=[s for s in SPECS if s.guest == "hvm"], ids=_name)
def hvm_case(request):
    return _walked(request.param)


def test_walk_matches_expected(case):
    spec, e, data, found = case
    assert len(data) == e.size
    assert found.wrapper == e.wrapper
    assert found.p2m_size == e.p2m_size
    assert tuple(found.chunks) == e.chunks
    assert [ident for ident, _ in found.ext_blocks] == list(e.ext_info)
    assert dict(found.ext_blocks).get("vcpu") == (e.ext_info_vcpu() if spec.guest == "pv"
                                                  else None)
    assert tuple(found.frames) == e.frames
    assert len(found.tails) == e.checkpoints
    assert found.pages == e.contents()
    assert len(found.pages) == e.pages
    assert sum(1 for _ in e.data_pfns()) == e.pages
    broken = [word & 0x0FFFFFFF for kind, word in found.no_data if kind == 0xD]
    xalloc = [word & 0x0FFFFFFF for kind, word in found.no_data if kind == 0xE]
    assert tuple(sorted(set(broken))) == e.broken and tuple(sorted(set(xalloc))) == e.xalloc
    if found.vcpu_map is not None:
        assert tuple(sorted(found.vcpu_map)) == e.vcpus
    if spec.qemu:
        assert [sig for sig, _ in found.qemu] == [spec.qemu] * e.checkpoints
        assert found.qemu[-1][1] == e.qemu_state()
        assert all(state.startswith(b"QEVM") for _, state in found.qemu)


def test_xtab_entries_follow_the_variant(case):
    spec, e, _, found = case
    xtab = [word for kind, word in found.no_data if kind == 0xF]
    style = spec.info.xtab_pv if spec.guest == "pv" else spec.info.xtab_hvm
    if style == "zero":
        assert all(word == 0xF0000000 for word in xtab)
    if spec.special_pages and spec.guest == "pv":
        assert len(xtab) >= 3
        if style == "mfn":
            assert len({word for word in xtab}) == len(xtab) and all(w & 0x0FFFFFFF for w in xtab)


def _canonical_cr3(guest_bytes, pfn):
    return pfn << 12 if guest_bytes == 8 else ((pfn << 12) | (pfn >> 20)) & 0xFFFFFFFF


# vcpu_guest_context offsets (spec/x86.md): (edx, gdt_frames, gdt_ents, cr3) and the word format.
_CTX = {8: (616, 4832, 4960, 5008, "Q"), 4: (524, 2640, 2704, 2728, "I")}


def test_pv_tail_is_consistent(pv_case):
    spec, e, _, found = pv_case
    g = found.guest_bytes
    assert g * 8 == spec.guest_bits
    edx_at, gdt_at, ents_at, cr3_at, word = _CTX[g]
    levels = 4 if g == 8 else 3
    for tail in found.tails:
        assert tail["unmapped"] == list(e.unmapped)
        assert all(pfn < e.p2m_size and pfn not in found.pages for pfn in tail["unmapped"])
        assert sorted(tail["contexts"]) == list(e.vcpus if spec.info.vcpu_info else (0,))
        for vcpu, (ctx, ext, xsave) in tail["contexts"].items():
            if tail is found.tails[-1]:
                assert (ctx, ext) == (e.vcpu_context(vcpu), e.extended_context(vcpu))
                assert xsave is None or xsave[1] == e.xsave(vcpu)[16:]
            cr3 = struct.unpack_from("<" + word, ctx, cr3_at)[0]
            assert cr3 == _canonical_cr3(g, e.cr3_pfn)
            assert found.types[e.cr3_pfn] & 0x7 == levels      # cr3 names a top-level table
            gdt_ents = struct.unpack_from("<" + word, ctx, ents_at)[0]
            assert 0 < gdt_ents <= 8192
            gdt = struct.unpack_from("<" + word, ctx, gdt_at)[0]
            assert gdt < e.p2m_size and found.types[gdt] == 0
            if vcpu == 0:
                start_info = struct.unpack_from("<" + word, ctx, edx_at)[0]
                assert start_info == e.start_info_pfn and found.types[start_info] == 0
            if ext is not None:
                assert struct.unpack_from("<I", ext)[0] == vcpu
            if xsave is not None:
                assert xsave[0] != 0
                grew = struct.unpack_from("<Q", xsave[1], 8)[0] & ~0x3    # xcr0_accum beyond SSE
                assert (len(xsave[1]) + 16 == e.xsave_size) == bool(grew)
        shared = tail["shared_info"]
        assert tail is not found.tails[-1] or shared == e.shared_info()
        max_pfn_at = 3088 if g == 8 else 2316
        assert struct.unpack_from("<" + word, shared, max_pfn_at)[0] == e.p2m_size
        assert struct.unpack_from("<" + word, shared, max_pfn_at + g)[0] == 0


def test_pv_frames_and_page_tables_are_canonical(pv_case):
    spec, e, _, found = pv_case
    assert all(found.types[pfn] == 0 for pfn in found.frames)       # frame list pages: NOTAB
    frame_mask = (1 << 52) - (1 << 12) if found.guest_bytes == 8 else (1 << 44) - (1 << 12)
    tables = [pfn for pfn, kind in found.types.items() if kind & 0x7]
    assert {found.types[pfn] for pfn in tables} >= {0x1, 0x2, 0x8 | (4 if found.guest_bytes == 8
                                                                      else 3)}
    for pfn in tables:
        ptes = struct.unpack("<512Q", found.pages[pfn])
        present = [pte for pte in ptes if pte & 1]
        assert present, f"table {pfn} maps nothing"
        assert all((pte & frame_mask) >> 12 < e.p2m_size for pte in present)
        if found.types[pfn] & 0x7 == 4:
            assert not any(ptes[256:272])                       # Xen's L4 slots stay zero
        if found.types[pfn] & 0x7 == 3 and found.guest_bytes == 4:
            assert not any(ptes[4:]) and all(pte & 0x66 == 0 for pte in present)


def test_hvm_tail_is_consistent(hvm_case):
    spec, e, _, found = hvm_case
    for tail in found.tails:
        records = hvm_records(tail["hvm_context"])
        assert tail is not found.tails[-1] or tail["hvm_context"] == e.hvm_context()
        assert records[0][0] == 1 and struct.unpack_from("<I", records[0][2])[0] == 0x54381286
        assert records[-1] == (0, 0, b"")
        cpus = [instance for typecode, instance, _ in records if typecode == 2]
        if spec.info.hvm_tail == "magic":
            assert tuple(cpus) == e.vcpus
            assert tail["magic"] == e.magic_pfns
            assert all(pfn < e.p2m_size and pfn in found.pages for pfn in tail["magic"])
        else:
            assert len(tail["contexts"]) == len(e.vcpus)
            vgc = 5168 if spec.toolstack_bits == 64 else 2800      # 2007: native width
            assert all(len(ctx) == vgc for ctx in tail["contexts"])
            assert not any(0xA0 <= pfn < 0xC0 for pfn in found.pages)
