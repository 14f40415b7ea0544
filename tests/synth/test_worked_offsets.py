"""The generator's bytes checked against offsets worked out by hand from Xen 4.5's saver, parsed
with struct."""

import struct

import pytest

from xcformat.synth import GuestSpec, expected, legacy_bytes


def _ulong(data: bytes, offset: int, width: int) -> int:
    return struct.unpack_from("<Q" if width == 64 else "<I", data, offset)[0]


@pytest.mark.parametrize("tools, guest, xsave, frame_list, tot, vcpu_size", [
    (64, 64, True, 0x1460, 0x144C, 0x1430),     # 64-bit tools and guest
    (32, 32, True, 0xB18, 0xB0C, 0xAF0),        # 32-bit tools and guest
    (64, 32, True, 0xB20, 0xB0C, 0xAF0),        # 32-on-64: +8 for the signature
    (32, 32, False, 0xB0C, 0xB00, 0xAF0),       # "tot" without xcnt
    (64, 64, False, 0x1454, 0x1440, 0x1430),
])
def test_ext_info_block_and_frame_list_offset(tools, guest, xsave, frame_list, tot, vcpu_size):
    spec = GuestSpec(toolstack_bits=tools, guest_bits=guest, xsave=xsave, pages=40, p2m_size=48)
    data = legacy_bytes(spec)
    w = tools // 8
    assert _ulong(data, 0, tools) == 48
    assert data[w:2 * w] == b"\xff" * w
    assert struct.unpack_from("<I", data, 2 * w)[0] == tot
    assert data[2 * w + 4:2 * w + 8] == b"vcpu"
    assert struct.unpack_from("<I", data, 2 * w + 8)[0] == vcpu_size
    at = 2 * w + 12 + vcpu_size
    assert data[at:at + 8] == b"extv\0\0\0\0"
    if xsave:
        assert data[at + 8:at + 16] == b"xcnt\x04\0\0\0"
        assert struct.unpack_from("<I", data, at + 16)[0] == expected(spec).xsave_size
    # the frame list: ceil(p2m_size / (4096 / G)) entries of W bytes, then -7 TSC_INFO
    frames = expected(spec).frames
    assert len(frames) == 1
    assert _ulong(data, frame_list, tools) == frames[0]
    assert struct.unpack_from("<i", data, frame_list + w)[0] == -7


# 4.5 non-live saves, offsets counted from the start of the libxc stream (the arithmetic of
# docs/reference/maps.rst).
@pytest.mark.parametrize("kw, first_batch, first_page, mod", [
    (dict(toolstack_bits=64, guest_bits=64, xsave=True, p2m_size=0x40000), 9336, 17532, 1148),
    (dict(toolstack_bits=64, guest_bits=64, xsave=True, p2m_size=0x100000), 21624, 29820, 1148),
    (dict(toolstack_bits=64, guest_bits=32, xsave=True, p2m_size=0x40000), 4920, 13116, 828),
    (dict(toolstack_bits=32, guest_bits=32, xsave=False, p2m_size=0x40000), 3876, 7976, 3880),
])
def test_first_batch_and_first_page_offsets_pv(kw, first_batch, first_page, mod):
    # Enough pages for the structures and one full 1024-entry batch, without building 1 GiB.
    spec = GuestSpec(pages=3000, **kw)
    e = expected(spec)
    assert e.first_batch_offset == first_batch
    head = legacy_bytes_prefix(spec, first_batch + 4)
    assert struct.unpack_from("<i", head, first_batch)[0] == 1024
    page_at = first_batch + 4 + spec.toolstack_bits // 8 * 1024
    assert page_at == first_page and page_at % 4096 == mod


def legacy_bytes_prefix(spec, length):
    from xcformat.synth.writer import pieces
    out = bytearray()
    for piece in pieces(spec):
        out += piece
        if len(out) >= length:
            return bytes(out[:length])
    return bytes(out)


@pytest.mark.parametrize("tools, first_batch, first_page, mod", [(64, 32, 8228, 36),
                                                                  (32, 28, 4128, 32)])
def test_first_batch_and_first_page_offsets_hvm(tools, first_batch, first_page, mod):
    spec = GuestSpec(guest="hvm", toolstack_bits=tools, pages=1100)
    data = legacy_bytes(spec)
    w = tools // 8
    assert struct.unpack_from("<i", data, w)[0] == -7            # TSC_INFO right after p2m_size
    assert struct.unpack_from("<i", data, first_batch)[0] == 1024
    assert first_batch + 4 + w * 1024 == first_page and first_page % 4096 == mod
    # The first entry is pfn 0, NOTAB; the page carries pfn 0's stamp.
    assert _ulong(data, first_batch + 4, tools) == 0
    assert data[first_page:first_page + 4096] == expected(spec).content(0)
