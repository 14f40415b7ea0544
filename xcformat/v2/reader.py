"""Reading a migration-stream file: the xl header, the libxl layer and the libxc stream.

Layers, outermost first (spec/v2.md#stream-order): an optional xl save-file header whose STREAMv2 flag
is set, then either a libxl stream (header, LIBXC_CONTEXT, the libxc stream, emulator records,
END) or a bare libxc stream.  Checkpointed libxl streams interleave: libxc records up to a
CHECKPOINT, libxl records up to CHECKPOINT_END, libxc records again, without new headers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .. import codec

from ..errors import Finding
from ..formats import Hints
from ..regions import Region, RegionSink
from ..legacy.schema import QEMU_LIBXL, QEMU_RECORDS
from ..records import Checkpoint, EmulatorContext, EmulatorXenstore, End, Record, Saver, Wrapper
from .libxc import LibxcStream, read_padding, read_record_header
from .physmap import from_keys
from .prepass import hvm_p2m_size, pv_xsave_size
from .schema import (LIBXL_HEADER_SIZE, LIBXL_IDENT, LIBXL_OPT_BIG_ENDIAN, LIBXL_OPT_LEGACY,
                     LIBXL_VERSION, RHDR_SIZE, XL_BYTEORDER, XL_FLAG_JSON, XL_FLAG_STREAMV2,
                     XL_HEADER_SIZE, XL_MAGIC, LibxlRecType, emulator_header, libxl_header,
                     xl_config, xl_header)

L = LibxlRecType
#: What Xen's converter appends after the libxc END of an HVM stream with ``-f libxc``: the
#: legacy libxl qemu record (its signature and length, then the state).
QEMU_TAIL_SIGNATURE = QEMU_LIBXL
QEMU_TAIL_HEAD = codec.head(QEMU_RECORDS[QEMU_LIBXL], "length")
XL_CONFIG_LENGTH = codec.head(xl_config, "config_length")
EMULATOR_HEAD = codec.head(emulator_header, "index")
EMULATOR_IDS = {0: "unknown", 1: "qemu-traditional", 2: "qemu-upstream"}
EMULATOR_RECORDS: dict[int, type[EmulatorXenstore | EmulatorContext]] = {L.EMULATOR_XENSTORE_DATA: EmulatorXenstore, L.EMULATOR_CONTEXT: EmulatorContext}


class V2Reader:
    def __init__(self, source, hints: Hints):
        self.src = source
        self.hints = hints
        self.findings: list[Finding] = []
        self.on_region: RegionSink | None = None
        self.keep_going = False          #: see LibxcStream.keep_going
        self.layers: list[str] = []
        self.libxl_options: int | None = None
        self.libxc: LibxcStream | None = None

    # -- plumbing ---------------------------------------------------------------------------
    def _mark(self, offset: int, length: int, kind: str, label: str) -> None:
        if self.on_region is not None and length:
            self.on_region(Region(offset, length, kind, label))

    def _finding(self, level: str, message: str, offset: int, field: str) -> None:
        self.findings.append(Finding(level, message, offset, field))

    def _new_libxc(self, toolstack: Saver | None) -> LibxcStream:
        stream = LibxcStream(self.src, self.findings, self.on_region,
                             lambda start: hvm_p2m_size(self.src, start),
                             lambda start: pv_xsave_size(self.src, start), toolstack)
        stream.keep_going = self.keep_going
        stream.read_headers()
        said = self.hints.guest
        if said is not None and said.value != ("pv" if stream.pv else "hvm"):
            self._finding("warning", f"--guest {said.value} ignored: the domain header says "
                                     f"{'PV' if stream.pv else 'HVM'}", stream.records_start - 16,
                          "domain header.type")
        self.libxc = stream
        self.layers.append("libxc")
        return stream

    # -- layers -----------------------------------------------------------------------------
    def records(self) -> Iterator[Record]:
        if self.src.peek(len(XL_MAGIC)) == XL_MAGIC:
            yield self._xl_header()
            if self.src.peek(len(LIBXL_IDENT)) != LIBXL_IDENT:
                raise self.src.error("the xl header says STREAMv2 but no libxl stream follows",
                                     "libxl header.ident")
        if self.src.peek(len(LIBXL_IDENT)) == LIBXL_IDENT:
            yield from self._libxl()
        else:
            stream = self._new_libxc(None)
            yield from stream.records(pause_at_checkpoint=False)
            yield from self._after_bare_libxc()
            yield End()

    def _xl_header(self) -> Wrapper:
        start = self.src.offset
        hdr = xl_header.parse(bytes(self.src.read(XL_HEADER_SIZE, "xl header")))
        if hdr.byteorder != XL_BYTEORDER:
            raise self.src.error(f"byte-order word {hdr.byteorder:#010x}: not a little-endian "
                                 "x86 save file", "xl header.byteorder", start + 32)
        if not hdr.mandatory_flags & XL_FLAG_STREAMV2:
            raise self.src.error("STREAMv2 is clear: a legacy stream follows (format legacy)",
                                 "xl header.mandatory_flags", start + 36)
        unknown = hdr.mandatory_flags & ~(XL_FLAG_JSON | XL_FLAG_STREAMV2)
        if unknown:
            raise self.src.error(f"unknown mandatory flags {unknown:#x}: xl refuses the file",
                                 "xl header.mandatory_flags", start + 36)
        if hdr.optional_flags:
            self._finding("warning", f"optional flags {hdr.optional_flags:#x} are not defined",
                          start + 40, "xl header.optional_flags")
        config, tail = self._xl_optional_data(hdr.optional_data_len, start + XL_HEADER_SIZE)
        self._mark(start, self.src.offset - start, "wrapper",
                   f"xl header, {len(config)}-byte config")
        self.layers.append("xl")
        # STREAMv2 describes this file's layering, not the domain: writers set it themselves.
        fields = {"mandatory_flags": hdr.mandatory_flags & ~XL_FLAG_STREAMV2,
                  "optional_flags": hdr.optional_flags, "byteorder": hdr.byteorder,
                  "config_framed": hdr.optional_data_len > 0, "optional_tail": tail}
        return Wrapper("xl", config, fields)

    def _xl_optional_data(self, length: int, offset: int) -> tuple[bytes, bytes]:
        if self.src.size is not None and offset + length > self.src.size:
            raise self.src.error(f"optional data of {length} bytes runs past the end of the "
                                 "file", "xl header.optional_data_len", offset - 4)
        if not length:
            return b"", b""
        if length < 4:
            raise self.src.error(f"optional data of {length} bytes cannot hold the config "
                                 "length", "xl header.optional_data_len", offset - 4)
        config_len = codec.read(XL_CONFIG_LENGTH, self.src,
                                "xl config length").config_length
        if config_len > length - 4:
            raise self.src.error(f"config of {config_len} bytes in {length - 4} bytes of "
                                 "optional data", "xl config length", offset)
        config = bytes(self.src.read(config_len, "xl config"))
        tail = bytes(self.src.read(length - 4 - config_len, "xl optional data"))
        return config, tail

    def _libxl(self) -> Iterator[Record]:
        start = self.src.offset
        hdr = libxl_header.parse(bytes(self.src.read(LIBXL_HEADER_SIZE, "libxl header")))
        if hdr.version != LIBXL_VERSION:
            raise self.src.error(f"libxl stream version {hdr.version}, only 2 exists",
                                 "libxl header.version", start + 8)
        if hdr.options & LIBXL_OPT_BIG_ENDIAN:
            raise self.src.error("big-endian libxl stream: libxl refuses it",
                                 "libxl header.options", start + 12)
        if hdr.options & ~(LIBXL_OPT_BIG_ENDIAN | LIBXL_OPT_LEGACY):
            self._finding("error", "reserved libxl option bits are set", start + 12,
                          "libxl header.options")
        self.libxl_options = hdr.options
        self.layers.append("libxl")
        self._mark(start, LIBXL_HEADER_SIZE, "wrapper", "libxl header")
        state = None   # None before LIBXC_CONTEXT, then "checkpoint" or "end"
        while True:
            offset, rtype, length = read_record_header(self.src, _libxl_name)
            name = _libxl_name(rtype)
            if rtype in (L.LIBXC_CONTEXT, L.CHECKPOINT_END, L.END) and length:
                raise self.src.error(f"libxl {name} body is {length} bytes, must be 0",
                                     "record header.length", offset + 4)
            if rtype == L.LIBXC_CONTEXT:
                if state is not None:
                    raise self.src.error("second LIBXC_CONTEXT record", "libxl record", offset)
                self._mark(offset, RHDR_SIZE, "wrapper", "libxl LIBXC_CONTEXT")
                stream = self._new_libxc(Saver.LIBXL)
                state = yield from stream.records(pause_at_checkpoint=True)
            elif rtype == L.CHECKPOINT_END:
                if state != "checkpoint":
                    raise self.src.error("CHECKPOINT_END without a libxc CHECKPOINT before it",
                                         "libxl record", offset)
                self._mark(offset, RHDR_SIZE, "wrapper", "libxl CHECKPOINT_END")
                yield Checkpoint()
                state = yield from self.libxc.records(pause_at_checkpoint=True)
            elif rtype in EMULATOR_RECORDS:
                yield self._emulator(rtype, length, offset, state)
            elif rtype == L.END:
                if state == "checkpoint":
                    yield Checkpoint()
                if state != "end":
                    self._finding("error", "libxl END before the libxc stream ended", offset,
                                  "libxl END")
                self._mark(offset, RHDR_SIZE, "wrapper", "libxl END")
                self._trailing()
                yield End()
                return
            elif rtype == L.CHECKPOINT_STATE:
                raise self.src.error("CHECKPOINT_STATE belongs to the COLO back channel, never "
                                     "to a stream or image", "libxl record", offset)
            else:
                raise self.src.error(f"unknown libxl record type {rtype:#x}: libxl refuses it",
                                     "libxl record", offset)

    def _emulator(self, rtype: int, length: int, offset: int, state) -> Record:
        name = _libxl_name(rtype)
        if length < 8:
            raise self.src.error(f"{name} body of {length} bytes, the emulator header alone "
                                 "is 8", "record header.length", offset + 4)
        emulator = codec.read(EMULATOR_HEAD, self.src, f"{name} header")
        emulator_id, index = emulator.emulator_id, emulator.index
        data = b"".join(bytes(p) for p in self.src.chunks(length - 8, f"{name} data"))
        self._mark(offset, RHDR_SIZE + length, "chunk", f"libxl {name}")
        read_padding(self.src, length, name, self.findings, self.on_region)
        field = f"libxl {name}"
        if state not in ("end", "checkpoint"):
            self._finding("error", f"{name} before the libxc stream", offset, field)
        if self.libxc is not None and self.libxc.pv:
            self._finding("error", f"{name} in a PV stream: libxl refuses it", offset, field)
        if emulator_id not in EMULATOR_IDS:
            self._finding("error", f"emulator id {emulator_id}, only 0-2 exist", offset + 8,
                          field)
        if rtype == L.EMULATOR_XENSTORE_DATA and not _xenstore_pairs_ok(data):
            self._finding("error", "xenstore data is not NUL-terminated key/value pairs",
                          offset + 16, field)
        if rtype == L.EMULATOR_XENSTORE_DATA:
            found = from_keys(data, emulator_id, index)
            if found is not None:
                return found
        return EMULATOR_RECORDS[rtype](data, emulator_id, index)

    def _after_bare_libxc(self) -> Iterator[Record]:
        """Xen's converter (``-f libxc``) appends the qemu record of an HVM guest raw."""
        if self.src.peek(len(QEMU_TAIL_SIGNATURE)) == QEMU_TAIL_SIGNATURE and \
                not self.libxc.pv:
            offset = self.src.offset
            length = codec.read(QEMU_TAIL_HEAD, self.src, "qemu record length").length
            if self.src.size is not None and self.src.offset + length > self.src.size:
                raise self.src.error(f"qemu record of {length} bytes runs past the end of the "
                                     "file", "qemu record length",
                                     offset + len(QEMU_TAIL_SIGNATURE))
            data = b"".join(bytes(p) for p in self.src.chunks(length, "qemu record"))
            self._mark(offset, self.src.offset - offset, "tail", "qemu record (raw)")
            self._finding("warning", "raw qemu record after the libxc END (convert-legacy-stream "
                                     "-f libxc writes this; libxl does not read it)", offset,
                          "qemu record")
            yield EmulatorContext(data, signature=QEMU_TAIL_SIGNATURE)
        self._trailing()

    def _trailing(self) -> None:
        if self.src.at_eof():
            return
        offset = self.src.offset
        extra = 0
        while not self.src.at_eof():
            extra += len(self.src.read_upto(1 << 20))
        self._mark(offset, extra, "trailer", f"{extra} bytes after END")
        self._finding("error", f"{extra} bytes after the end of the stream", offset, "END")

    # -- info -------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        stream = self.libxc
        facts: dict[str, Any] = {"layers": self.layers}
        if stream is not None:
            facts.update({
                "stream_version": stream.version,
                "xen_version": "{}.{}".format(*stream.xen_version),
                "converted": stream.xen_version[0] == 0,
                "record_counts": dict(stream.counts),
            })
        if self.libxl_options is not None:
            facts["libxl_legacy_flag"] = bool(self.libxl_options & LIBXL_OPT_LEGACY)
        return facts


def _xenstore_pairs_ok(data: bytes) -> bool:
    if not data:
        return True
    if not data.endswith(b"\0"):
        return False
    return data[:-1].count(b"\0") % 2 == 1


def _libxl_name(rtype: int) -> str:
    try:
        return L(rtype).name
    except ValueError:
        return f"{rtype:#x}"
