"""The ``.note.Xen`` section: the dump's own description of itself (dump checks #18-#33)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..io import Source
from . import schema as s
from .elf import ElfContainer
from .findings import Findings

#: A sane limit for the note section (libxc writes 1380 or 1384 bytes).
MAX_NOTES = 1 << 20
_DESC_SIZES = {s.NOTE_NONE: 0, s.NOTE_HEADER: 32, s.NOTE_FORMAT_VERSION: 8}
_XEN_VERSION_SIZES = {1276: s.xen_version_desc32, 1280: s.xen_version_desc64}


@dataclass(frozen=True)
class Note:
    """One note of ``.note.Xen``."""

    type: int
    offset: int      #: file offset of the note header
    desc: bytes


@dataclass(frozen=True)
class DumpNotes:
    """What the four Xen notes say."""

    notes: tuple[Note, ...]
    magic: int
    nr_vcpus: int
    nr_pages: int
    page_size: int
    format_version: int
    xen_version: Any           #: the parsed XEN_VERSION descriptor (a construct container)
    xen_version_size: int      #: 1280 (64-bit tools) or 1276 (32-bit tools)
    version_pagesize: int      #: XENVER_pagesize, found by the rule below (spec/core.md#xen-version-desc-pv32)
    pagesize_shifted: bool     #: True for the 32-bit-PV-guest tail variant (pagesize at 1268)

    @property
    def toolstack_bits(self) -> int:
        """Width of the toolstack that wrote the dump, from the XEN_VERSION size."""
        return 32 if self.xen_version_size == 1276 else 64

    @property
    def gmfn_is_pfn(self) -> bool:
        """True for PV dumps xcformat made from save images (no machine frames known)."""
        return bytes(self.xen_version.changeset).startswith(s.GMFN_IS_PFN)

    def by_type(self, kind: int) -> Note | None:
        """The first note of type ``kind``, or None."""
        return next((n for n in self.notes if n.type == kind), None)

    def text(self, field: str) -> str:
        """A char-array field of XEN_VERSION as text (up to its first NUL)."""
        raw = getattr(self.xen_version, field)
        return raw.split(b"\x00", 1)[0].decode("ascii", "replace")


def walk(raw: bytes, base: int, findings: Findings) -> list[Note]:
    """Every note in ``raw`` (a section starting at file offset ``base``), 4-byte framing."""
    notes = []
    at = 0
    while at < len(raw):
        if len(raw) - at < 16:
            raise findings.fatal(19, f"note header cut off ({len(raw) - at} bytes left in the "
                                     "section)", base + at, "note.namesz")
        head = s.note_header.parse(raw[at:at + 16])
        name_len = (head.namesz + 3) & ~3
        desc_at = at + 12 + name_len
        desc_end = desc_at + ((head.descsz + 3) & ~3)
        if desc_end > len(raw):
            raise findings.fatal(19, f"note type {head.type:#x}: name or desc ({head.descsz} "
                                     "bytes) runs past the end of the section", base + at,
                                 "note.descsz")
        if head.type in s.NOTE_NAMES and (head.namesz != 4 or head.name != s.NOTE_NAME):
            raise findings.fatal(19, f"{s.NOTE_NAMES[head.type]} note has name "
                                     f"{bytes(raw[at + 12:at + 12 + head.namesz])!r}, "
                                     "expected 'Xen\\0' (namesz 4)", base + at, "note.name")
        notes.append(Note(head.type, base + at, bytes(raw[desc_at:desc_at + head.descsz])))
        at = desc_end
    return notes


def parse(source: Source, elf: ElfContainer, findings: Findings) -> DumpNotes:
    """Read and check ``.note.Xen``: framing, the four required notes, their values."""
    section = elf.get(s.SECTION_NOTES)
    if section is None:
        raise findings.fatal(18, "no .note.Xen section: not a Xen dump-core", None, ".note.Xen")
    if section.size > MAX_NOTES or section.end > elf.file_size:
        raise findings.fatal(19 if section.size > MAX_NOTES else 11,
                             f".note.Xen ({section.size} bytes at {section.offset:#x}) is too "
                             "big or runs past the end of the file", section.header_offset,
                             ".note.Xen.sh_size")
    raw = source.pread(section.offset, section.size, ".note.Xen")
    notes = walk(raw, section.offset, findings)
    required = {}
    for note in notes:
        name = s.NOTE_NAMES.get(note.type)
        if name is None:
            findings.warn(26, f"unknown note type {note.type:#x}", note.offset, "note.type")
            continue
        if note.type in required:
            findings.error(20, f"{name} note appears twice", note.offset, "note.type")
            continue
        required[note.type] = note
        want = _DESC_SIZES.get(note.type)
        if want is not None and len(note.desc) != want:
            raise findings.fatal(21, f"{name} descsz {len(note.desc)}, expected {want}",
                                 note.offset + 4, "note.descsz")
    missing = [s.NOTE_NAMES[t] for t in s.NOTE_NAMES if t not in required]
    if missing:
        raise findings.fatal(20, f"required note(s) missing: {', '.join(missing)}",
                             section.offset, ".note.Xen")
    header = s.header_desc.parse(required[s.NOTE_HEADER].desc)
    version = s.format_version_desc.parse(required[s.NOTE_FORMAT_VERSION].desc).version
    xen, size, pagesize, shifted = _xen_version(required[s.NOTE_XEN_VERSION], header,
                                                findings)
    dump = DumpNotes(tuple(notes), header.xch_magic, header.xch_nr_vcpus, header.xch_nr_pages,
                     header.xch_page_size, version, xen, size, pagesize, shifted)
    _check(dump, required, findings)
    return dump


def _xen_version(note: Note, header, findings: Findings):
    size = len(note.desc)
    if size < 1276:
        raise findings.fatal(22, f"DUMPCORE_XEN_VERSION descsz {size} < 1276", note.offset + 4,
                             "note.descsz")
    if size not in _XEN_VERSION_SIZES:
        findings.warn(23, f"DUMPCORE_XEN_VERSION descsz {size}, not 1276 or 1280",
                      note.offset + 4, "note.descsz")
    if size >= 1280:
        # The u64 at 1272 is the page size unless a 64-bit toolstack filled the tail at
        # a 32-bit PV guest's width (Xen commit 3967bb3aff), which moved it to 1268.
        wide = s.xen_version_desc64.parse(note.desc[:1280])
        shifted = s.xen_version_desc_pv32.parse(note.desc[:1280])
        if wide.pagesize != header.xch_page_size and shifted.pagesize == header.xch_page_size:
            return shifted, size, shifted.pagesize, True
        return wide, size, wide.pagesize, False
    narrow = s.xen_version_desc32.parse(note.desc[:1276])
    return narrow, size, narrow.pagesize, False


def _check(dump: DumpNotes, notes: dict, findings: Findings) -> None:
    header_at = notes[s.NOTE_HEADER].offset + 16
    major, minor = dump.format_version >> 32, dump.format_version & 0xFFFF_FFFF
    version_at = notes[s.NOTE_FORMAT_VERSION].offset + 16
    if major != 0:
        findings.error(24, f"format version major {major} (only 0 exists)", version_at,
                       "format_version")
    if minor != 1:
        findings.warn(25, f"format version minor {minor} (only 1 was ever written)", version_at,
                      "format_version")
    if dump.magic not in s.MAGICS:
        findings.error(27, f"xch_magic {dump.magic:#x} is neither 0xf00febed nor 0xf00febee",
                       header_at, "xch_magic")
    if dump.nr_vcpus == 0:
        findings.error(28, "xch_nr_vcpus is 0", header_at + 8, "xch_nr_vcpus")
    elif dump.nr_vcpus > 4096:
        findings.warn(28, f"xch_nr_vcpus {dump.nr_vcpus} is implausibly large", header_at + 8,
                      "xch_nr_vcpus")
    if dump.nr_pages == 0:
        findings.error(29, "xch_nr_pages is 0", header_at + 16, "xch_nr_pages")
    page = dump.page_size
    if page == 0 or page & (page - 1):
        findings.error(31, f"xch_page_size {page} is not a power of two", header_at + 24,
                       "xch_page_size")
    elif dump.nr_pages * page >= 1 << 64:
        findings.error(30, "xch_nr_pages x page size overflows 64 bits", header_at + 16,
                       "xch_nr_pages")
    if page not in (4096, 16384):
        findings.warn(32, f"xch_page_size {page}: x86 and ARM use 4096, ia64 16384",
                      header_at + 24, "xch_page_size")
    if dump.version_pagesize != page:
        findings.warn(33, f"xen_version pagesize {dump.version_pagesize} differs from "
                          f"xch_page_size {page}", notes[s.NOTE_XEN_VERSION].offset + 16,
                      "xen_version.pagesize")
