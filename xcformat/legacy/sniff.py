"""Recognising a legacy stream and what its first bytes say about it.

Legacy streams have no magic: the verdict rests on the xl/xend wrapper magics where present
(certain), else on the shape of the first words (a heuristic).  What the bytes cannot decide (HVM
vs a pre-3.2 PV stream without extended info) is listed in ``undecided`` for a hint to settle.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..errors import EnvironmentProblem
from ..formats import Hints, Sniffed
from ..records import GuestType
from ..x86 import guest_bits_of_context
from .. import codec
from .schema import (BODY_ITEM, CHUNKS, EXT_BLOCK, MAX_BATCH, MAX_P2M_SIZE, XEND_MAGIC,
                     XL_BYTEORDER, XL_FLAG_STREAMV2, XL_HEADER, XL_MAGIC, structs)
from .wrappers import XEND_CONFIG_LENGTH

V2_MAGIC = b"\xff" * 8 + b"XENF"
LIBXL_V2_MAGIC = b"LibxlFmt"
#: An ext-info block's id and size, before its payload.
EXT_BLOCK_HEAD = codec.head(EXT_BLOCK, "size")


class GuestConflict(EnvironmentProblem):
    """``--guest`` says one thing, the bytes another."""


@dataclass(frozen=True)
class StreamShape:
    """What the bytes (and hints) decide before the reader starts."""

    wrapper: str | None
    stream_offset: int                 #: where the libxc stream starts
    toolstack_bits: int | None
    guest: GuestType | None
    guest_bits: int | None             #: from the ext-info "vcpu" size; None when absent
    undecided: tuple[str, ...] = ()
    reason: str = ""


def _wrapper(head: bytes) -> tuple[str | None, int] | None:
    """(wrapper kind, stream offset); None when the head belongs to another format."""
    if head.startswith(XL_MAGIC):
        size = XL_HEADER.sizeof()
        if len(head) < size:
            return "xl", size
        header = XL_HEADER.parse(head)
        if header.byteorder == XL_BYTEORDER and header.mandatory_flags & XL_FLAG_STREAMV2:
            return None      # an xl file around a v2 stream: the v2 format's
        return "xl", size + header.optional_data_len
    if head.startswith(XEND_MAGIC):
        length = _word(head, 0, XEND_CONFIG_LENGTH)
        # A negative length is the reader's to refuse, by name.
        return "xend", XEND_CONFIG_LENGTH.sizeof() + max(length.config_length if length else 0, 0)
    if head.startswith(V2_MAGIC) or head.startswith(LIBXL_V2_MAGIC):
        return None
    return "", 0


def _word(head: bytes, offset: int, struct):
    """``struct`` parsed from ``head`` at ``offset``; None where the head is too short."""
    size = struct.sizeof()
    return struct.parse(head[offset:offset + size]) if len(head) >= offset + size else None


def _toolstack_bits(head: bytes, at: int) -> int | None:
    """W from bytes 4-7 (zero for W=64 since p2m_size < 2^32); None if not a legacy header."""
    half = structs(32, 32)
    low, high = _word(head, at, half.ulong), _word(head, at + half.word, half.ulong)
    if low is None or high is None or not 0 < low < MAX_P2M_SIZE:
        return None
    return 64 if high == 0 else 32


def _shape(head: bytes, at: int, w: int) -> tuple[GuestType | None, int | None, str]:
    """Guest type and width from what follows p2m_size, with the reason."""
    layout = structs(w, w)
    after = at + layout.word
    first = _word(head, after, layout.ulong)
    if first is None:
        return None, None, "too short to tell the guest type"
    if first == (1 << w) - 1:
        block = _word(head, after + layout.ext_info_header.sizeof(), EXT_BLOCK_HEAD)
        block_id = head[after + layout.ext_info_header.sizeof():][:4]
        if block is not None and block.id == b"vcpu":
            return GuestType.PV, guest_bits_of_context(block.size), "extended-info block"
        if len(block_id) == 4 and block_id.isascii() and block_id.isalpha():
            return GuestType.PV, None, "extended-info signature"
        return None, None, "all-ones word after p2m_size but no extended-info block"
    item = BODY_ITEM.parse(head[after:after + 4])
    if item in CHUNKS:
        # a p2m frame-list pfn is never negative: only HVM streams start their body here
        return GuestType.HVM, None, f"chunk {item} right after p2m_size"
    if w == 64 and first >= 1 << 32:
        return GuestType.HVM, None, "a batch header right after p2m_size"
    if MAX_BATCH < first < MAX_P2M_SIZE:
        return GuestType.PV, None, "a p2m frame list (no extended info: before 3.2)"
    return None, None, "HVM or a pre-3.2 PV stream without extended info"


def shape(head: bytes, hints: Hints = Hints()) -> StreamShape | None:
    """The legacy stream shape of an image starting with ``head``; None if it is not legacy.

    A wrapper magic is enough to claim the file; what follows it is judged by
    :func:`stream_shape` once the wrapper has been read (it may lie beyond ``head``).
    """
    found = _wrapper(head)
    if found is None:
        return None
    wrapper, at = found
    stream = stream_shape(head[at:], hints)
    if stream is not None:
        return dataclasses.replace(stream, wrapper=wrapper or None, stream_offset=at)
    if not wrapper:
        return None
    return StreamShape(wrapper, at, hints.toolstack_bits, hints.guest, None,
                  () if hints.guest else ("guest",), "stream not within the sniffed bytes")


def stream_shape(head: bytes, hints: Hints = Hints()) -> StreamShape | None:
    """The shape of a bare legacy stream starting with ``head`` (no wrapper)."""
    w = hints.toolstack_bits or _toolstack_bits(head, 0)
    if w is None:
        return None
    guest, guest_bits, reason = _shape(head, 0, w)
    undecided: tuple[str, ...] = ()
    if hints.guest is not None and guest is not None and hints.guest is not guest:
        raise GuestConflict(f"the bytes say {guest.value.upper()} ({reason}), not "
                            f"{hints.guest.value.upper()}: leave out --guest")
    if hints.guest is not None:
        guest = hints.guest
    elif guest is None:
        undecided = ("guest",)
    if guest is GuestType.HVM:
        guest_bits = None
    return StreamShape(None, 0, w, guest, guest_bits, undecided, reason)


def sniff(head: bytes) -> Sniffed | None:
    found = shape(head)
    if found is None:
        return None
    facts = {"wrapper": found.wrapper, "toolstack_bits": found.toolstack_bits,
             "guest": found.guest.value if found.guest else None,
             "guest_bits": found.guest_bits}
    certain = found.wrapper is not None
    reason = (f"{found.wrapper} wrapper magic" if certain else "legacy header shape") + \
        (f"; {found.reason}" if found.reason else "")
    return Sniffed("legacy", certain, reason, facts, found.undecided)
