"""The streaming legacy reader: bytes in file order -> format-neutral records.

Constant memory: one batch of pages at a time, plus (PV) one byte per pfn of page types for the
tail checks; checkpoints after the first are held back until complete so that a partial last
checkpoint can be dropped, up to :data:`MAX_HELD_CHECKPOINT` bytes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from ..errors import EnvironmentProblem, Finding, TruncatedError
from ..formats import SNIFF_BYTES, Hints
from ..io import Source
from ..regions import RegionSink
from ..records import (PAGE_SIZE, Checkpoint, End, GuestType, ImageHeader, P2MFrames,
                       PageBatch, Provenance, PvExtInfo, Record)
from ..x86 import guest_bits_of_context
from .body import read_body
from .cursor import Cursor, Stream
from .schema import CHUNKS, MAX_P2M_SIZE, XCNT_PAYLOAD, structs
from .sniff import EXT_BLOCK_HEAD, StreamShape, shape, stream_shape
from .tail import check_frame_types, qemu_signature, read_hvm_tail, read_pv_tail, read_qemu
from .versions import SINCE, show
from .wrappers import READERS as WRAPPER_READERS
from .wrappers import XL_FLAG_JSON

#: ext-info larger than this is not ext-info (vcpu 5168 + extv + xcnt is under 5.2 KiB).
MAX_EXT_INFO = 64 << 10
MAX_XCNT = 256 << 10
#: Bytes of later checkpoints held back to drop a partial one; beyond, records stream through.
MAX_HELD_CHECKPOINT = 256 << 20
#: ext-info block id -> (required size or None, what it is).
EXT_BLOCK_SIZES = {b"vcpu": None, b"extv": 0, b"xcnt": 4}
EXT_FEATURES = {b"vcpu": "ext-info", b"extv": "extv", b"xcnt": "xcnt"}


class LegacyReader:
    """Reads one legacy image (any variant, with or without an xl/xend wrapper)."""

    def __init__(self, source: Source, hints: Hints = Hints()):
        self.source = source
        self.hints = hints
        self.findings: list[Finding] = []
        self.on_region: RegionSink | None = None
        self.stream: Stream | None = None
        self.keep_going = False          #: see Cursor.keep_going

    # -- public -----------------------------------------------------------------------------
    def records(self) -> Iterator[Record]:
        cursor = Cursor(self.source, self.findings, self.on_region, self.keep_going)
        found = shape(self.source.peek(SNIFF_BYTES), self.hints)
        if found is None:
            raise self.source.error("not a legacy Xen save image", "p2m_size", 0)
        wrapper = None
        if found.wrapper:
            wrapper = WRAPPER_READERS[found.wrapper](cursor)
            yield wrapper
            found = stream_shape(self.source.peek(SNIFF_BYTES), self.hints)
            if found is None:
                raise cursor.error(f"no legacy stream after the {wrapper.kind} header "
                                   "(p2m_size out of range)", "p2m_size")
        if found.guest is None:
            found = self._by_length(found)
        stream = yield from self._header(cursor, found)
        self.stream = stream
        if wrapper is not None and wrapper.kind == "xl":
            json_config = wrapper.fields["mandatory_flags"] & XL_FLAG_JSON
            stream.versions.saw("xl-json" if json_config else "wrapper-xl")
        yield from self._checkpoints(cursor, stream)
        self._check_type_age(stream)
        yield End()

    def _by_length(self, found: StreamShape) -> StreamShape:
        """Settle HVM vs a pre-3.2 PV stream on the length of what is left, or ask for --guest.

        A PV stream ends with the 4096-byte shared-info page (tools/libxc/xc_linux_save.c
        writes it last): a stream shorter than p2m_size and that page can only be HVM or
        nothing, and the HVM reader tells which (invalid input, not a missing hint).
        """
        rest = len(self.source.peek(SNIFF_BYTES))
        if rest >= (found.toolstack_bits or 64) // 8 + PAGE_SIZE:
            raise EnvironmentProblem(
                f"{self.source.name}: the bytes cannot tell an HVM stream from a pre-3.2 PV "
                "stream without extended info; say --guest pv or --guest hvm")
        self.findings.append(Finding(
            "info", f"read as HVM: the stream's {rest} bytes are too few for a PV stream, "
                    f"which ends with a {PAGE_SIZE}-byte shared-info page",
            self.source.offset, "guest"))
        return dataclasses.replace(found, guest=GuestType.HVM, undecided=(),
                                   reason="too short for PV")

    def summary(self) -> dict:
        stream = self.stream
        if stream is None:
            return {}
        summary = {
            "variant": self._variant(stream),
            "min_xen_version": show(stream.versions.lower()),
            "predates_xen": show(stream.versions.below) if stream.versions.below else None,
            "chunks": {f"{cid} {CHUNKS[cid].name}": n for cid, n in sorted(
                stream.chunks.items(), reverse=True)},
            "checkpoints": stream.checkpoints,
            "ext_info": [block.decode() for block in stream.ext_ids],
        }
        if stream.hvm_vcpus is not None:
            summary["vcpus"] = stream.hvm_vcpus
        return summary

    # -- header -----------------------------------------------------------------------------
    def _header(self, cursor: Cursor, found: StreamShape):
        w = found.toolstack_bits
        start = cursor.offset
        p2m_size = cursor.parse(structs(w, w).header, "p2m_size").p2m_size
        if not 0 < p2m_size < MAX_P2M_SIZE:
            raise cursor.error(f"p2m_size {p2m_size:#x} out of range 1..{MAX_P2M_SIZE - 1:#x}"
                               + (" (is the toolstack width right?)" if p2m_size else ""),
                               "p2m_size", start)
        cursor.region(start, "header", "p2m_size")
        if found.guest is GuestType.HVM:
            stream = Stream(GuestType.HVM, structs(w, w), p2m_size)
            yield self._image_header(stream)
            return stream
        ext_blocks, first_frame = self._ext_info(cursor, w)
        guest_bits = w
        if ext_blocks is not None:
            guest_bits = guest_bits_of_context(len(dict(ext_blocks)[b"vcpu"]))
        stream = Stream(GuestType.PV, structs(w, guest_bits), p2m_size)
        stream.enable_type_map()
        if ext_blocks is not None:
            stream.ext_ids = tuple(block_id for block_id, _ in ext_blocks)
            for block_id in stream.ext_ids:
                stream.versions.saw(EXT_FEATURES.get(block_id, "ext-info"))
            xcnt = dict(ext_blocks).get(b"xcnt")
            if xcnt is not None:
                stream.xsave_record_size = XCNT_PAYLOAD.parse(xcnt).xsave_record_size
        else:
            stream.versions.lacks("pv-no-ext-info")
        if b"extv" not in stream.ext_ids:
            stream.versions.lacks("pv-no-extv")
        yield self._image_header(stream)
        if ext_blocks is not None:
            yield PvExtInfo(tuple(ext_blocks))
        yield self._frame_list(cursor, stream, first_frame)
        return stream

    @staticmethod
    def _image_header(stream: Stream) -> ImageHeader:
        return ImageHeader(stream.guest, stream.p2m_size,
                           guest_bits=stream.structs.guest_bits if stream.pv else None,
                           toolstack_bits=stream.structs.toolstack_bits,
                           provenance=Provenance("legacy", layout=stream.guest.value))

    def _ext_info(self, cursor: Cursor, w: int):
        """(blocks, None) when the extended-info signature is there, else (None, frame 0)."""
        word = w // 8
        start = cursor.offset
        layout = structs(w, w)
        # The first word is the signature, or else the p2m frame list's first entry.
        first = layout.ulong.parse(cursor.source.peek(word)) \
            if len(cursor.source.peek(word)) == word else None
        if first != (1 << w) - 1:
            return None, layout.ulong.parse(cursor.read(word, "ext_info.signature"))
        tot = cursor.parse(layout.ext_info_header, "ext_info").tot
        if not 8 <= tot <= MAX_EXT_INFO:
            raise cursor.error(f"ext-info tot {tot} out of range 8..{MAX_EXT_INFO}",
                               "ext_info.tot", start + word)
        blocks: list[tuple[bytes, bytes]] = []
        left = tot
        while left:
            at = cursor.offset
            if left < 8:
                raise cursor.error(f"ext-info tot {tot} is not the sum of its blocks",
                                   "ext_info.tot", start + word)
            block = cursor.parse(EXT_BLOCK_HEAD, "ext_info.block")
            block_id, size = block.id, block.size
            if size > left - 8:
                raise cursor.error(f"ext-info block {block_id!r} size {size} larger than what "
                                   f"remains of tot ({left - 8})", "ext_info.block.size", at + 4)
            payload = bytes(cursor.read(size, f"ext_info.{block_id.decode('latin-1')}"))
            self._check_ext_block(cursor, blocks, block_id, payload, at)
            blocks.append((block_id, payload))
            left -= 8 + size
        if b"vcpu" not in dict(blocks):
            raise cursor.error('ext-info has no "vcpu" block', "ext_info", start)
        cursor.region(start, "ext-info", "extended info: " + ", ".join(
            b.decode("latin-1") for b, _ in blocks))
        return blocks, None

    @staticmethod
    def _check_ext_block(cursor: Cursor, blocks, block_id: bytes, payload: bytes,
                         at: int) -> None:
        field = f"ext_info.{block_id.decode('latin-1')}.size"
        if block_id not in EXT_BLOCK_SIZES:
            cursor.warn(f"unknown ext-info block {block_id!r} ({len(payload)} bytes) skipped "
                        "(the Xen converter rejects it)", "ext_info.block.id", at)
            return
        if block_id in dict(blocks):
            raise cursor.error(f"duplicate ext-info block {block_id!r}", "ext_info.block.id", at)
        want = EXT_BLOCK_SIZES[block_id]
        if block_id == b"vcpu":
            if guest_bits_of_context(len(payload)) is None:
                raise cursor.error(f'"vcpu" block size {len(payload)} (2800 or 5168)', field,
                                   at + 4)
        elif len(payload) != want:
            raise cursor.error(f"{block_id.decode()} block size {len(payload)}, must be {want}",
                               field, at + 4)
        if block_id == b"xcnt":
            value = XCNT_PAYLOAD.parse(payload).xsave_record_size
            if not 16 <= value <= MAX_XCNT:
                raise cursor.error(f"xcnt {value} out of range 16..{MAX_XCNT}",
                                   "ext_info.xcnt.value", at + 8)

    def _frame_list(self, cursor: Cursor, stream: Stream, first: int | None) -> P2MFrames:
        start = cursor.offset - (stream.structs.word if first is not None else 0)
        count = stream.structs.frame_list_entries(stream.p2m_size)
        word = stream.structs.word
        frames = [] if first is None else [first]
        rest = count - len(frames)
        frames += cursor.read(rest * word, "p2m_frame_list").cast(
            "Q" if word == 8 else "I").tolist()
        for index, pfn in enumerate(frames):
            if pfn >= stream.p2m_size:
                cursor.problem(f"p2m frame-list entry {index} is pfn {pfn:#x} >= p2m_size "
                               f"{stream.p2m_size:#x}", "p2m_frame_list", start + word * index)
                break
        stream.frames, stream.frames_offset = tuple(frames), start
        cursor.region(start, "p2m-frames", f"p2m frame list ({count} entries)")
        return P2MFrames(stream.frames)

    # -- checkpoints ------------------------------------------------------------------------
    def _checkpoint(self, cursor: Cursor, stream: Stream) -> Iterator[Record]:
        """Body, tail and (HVM) device-model record of one checkpoint."""
        yield from read_body(cursor, stream)
        if stream.pv:
            check_frame_types(cursor, stream)
            yield from read_pv_tail(cursor, stream)
            return
        yield from read_hvm_tail(cursor, stream)
        if not cursor.source.at_eof():
            if qemu_signature(cursor) is not None:
                yield read_qemu(cursor, stream)
            elif stream.saw_last_checkpoint:
                raise cursor.error("unknown device-model record signature "
                                   f"{cursor.source.peek(21)!r}", "qemu.signature")

    def _checkpoints(self, cursor: Cursor, stream: Stream) -> Iterator[Record]:
        yield from self._checkpoint(cursor, stream)
        stream.checkpoints = 1
        while not cursor.source.at_eof():
            if stream.saw_last_checkpoint:
                raise cursor.error("bytes after the end of a stream that declared its last "
                                   "checkpoint (chunk -9)", "trailer")
            complete = yield from self._held_checkpoint(cursor, stream, cursor.offset)
            if not complete:
                return
            stream.checkpoints += 1
            stream.versions.saw("checkpoints")

    def _held_checkpoint(self, cursor: Cursor, stream: Stream, start: int):
        """Yield a later checkpoint once it is complete; False (yielding nothing) if it is cut
        short.  Beyond MAX_HELD_CHECKPOINT bytes the records stream through unchecked."""
        held: list[Record] | None = [Checkpoint()]
        size = 0
        counted = stream.chunks.copy(), set(stream.versions.features)
        try:
            for record in self._checkpoint(cursor, stream):
                if held is None:
                    yield record
                    continue
                if isinstance(record, PageBatch):
                    record = dataclasses.replace(record, data=memoryview(bytes(record.data)))
                    size += len(record.data)
                held.append(record)
                if size > MAX_HELD_CHECKPOINT:
                    yield from held
                    held = None
        except TruncatedError as exc:
            if held is None:
                raise
            stream.chunks, stream.versions.features = counted
            self.findings.append(Finding(
                "warning", f"checkpoint {stream.checkpoints + 1} starting at offset {start:#x} "
                           f"is incomplete ({exc.message} at {exc.offset:#x}); the image ends "
                           f"with checkpoint {stream.checkpoints}, as Remus would restore it",
                start, "checkpoint"))
            return False
        yield from held or ()
        return True

    def _check_type_age(self, stream: Stream) -> None:
        """BROKEN/XALLOC pages in a stream whose other features say it is older."""
        below = stream.versions.below
        for feature, name in (("xalloc", "XALLOC"), ("broken", "BROKEN")):
            if feature in stream.versions.features and below and below <= SINCE[feature]:
                self.findings.append(Finding(
                    "warning", f"{name} pages (Xen {show(SINCE[feature])}+) in a stream that "
                               f"otherwise predates Xen {show(below)}", None, "batch.entries"))

    @staticmethod
    def _variant(stream: Stream) -> str:
        """The layout family: pv (3.2+ ext-info), pv-lone-vcpu-block (3.0.3-3.1 PAE guests),
        pv-no-ext-info (3.0-3.1), hvm (3.1-4.5), hvm-2007 (the unreleased 2007 tail)."""
        if not stream.pv:
            return "hvm-2007" if stream.hvm_2007 else "hvm"
        if not stream.ext_ids:
            return "pv-no-ext-info"
        return "pv" if stream.extv else "pv-lone-vcpu-block"

