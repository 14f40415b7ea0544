"""The ELF container of a dump: header, section headers and names (dump checks #1-#17).

Only what Xen's writers ever produced is parsed: little-endian, ELFCLASS64, or ELFCLASS32 from
the two-week 2007 variant.  Sections are found by name, never by position.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..io import Source
from . import schema as s
from .findings import Findings

#: A sane limit for the string table (libxc caps it at 64 KiB with a u16 length, xc_core.c).
MAX_SHSTRTAB = 64 << 10
_EXPECTED_TYPES = {s.SECTION_NOTES: s.SHT_NOTE, s.SECTION_SHSTRTAB: s.SHT_STRTAB}


@dataclass(frozen=True)
class Section:
    """One section header, with its name resolved."""

    index: int
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    addralign: int
    entsize: int
    header_offset: int   #: where this section's header lies in the file

    @property
    def end(self) -> int:
        """File offset just past the contents."""
        return self.offset + self.size


@dataclass(frozen=True)
class ElfContainer:
    """The ELF layer of a dump: class, header, sections (found by name)."""

    bits: int                  #: ELF class: 64, or 32 for the 2007 variant
    header: Any                #: the parsed ELF header (construct container)
    sections: tuple[Section, ...]
    by_name: dict
    file_size: int

    @property
    def machine(self) -> int:
        """``e_machine``: which context layout ``.xen_prstatus`` holds."""
        return self.header.e_machine

    def get(self, name: str) -> Section | None:
        """The section called ``name``, or None."""
        return self.by_name.get(name)


def structs(bits: int):
    """(ELF header, section header) constructs for ELF class ``bits``."""
    return (s.elf64_header, s.section64_header) if bits == 64 else (s.elf32_header,
                                                                    s.section32_header)


def parse(source: Source, findings: Findings) -> ElfContainer:
    """Read and check the ELF header, section headers and names of ``source``."""
    size = source.size
    if size is None:
        raise source.error("a core dump must be read from a regular file (its page table "
                           "follows the pages)", "file")
    ident = source.pread(0, min(16, size), "e_ident")
    if len(ident) < 16 or ident[:4] != s.ELF_MAGIC:
        raise findings.fatal(1, "not an ELF file (no 7F 45 4C 46 magic)", 0, "e_ident.magic")
    cls, data = ident[4], ident[5]
    if cls not in (s.ELFCLASS32, s.ELFCLASS64):
        raise findings.fatal(2, f"unknown ELF class {cls}", 4, "e_ident.ei_class")
    if cls == s.ELFCLASS32:
        findings.warn(2, "ELFCLASS32: written only by 32-bit toolstacks 2007-02-24..03-06",
                      4, "e_ident.ei_class")
    if data != s.ELFDATA2LSB:
        raise findings.fatal(3, f"EI_DATA {data}: only little-endian dumps were ever written",
                             5, "e_ident.ei_data")
    bits = 64 if cls == s.ELFCLASS64 else 32
    ehdr_struct, shdr_struct = structs(bits)
    ehdr = ehdr_struct.parse(source.pread(0, ehdr_struct.sizeof(), "elf header"))
    _check_header(ehdr, bits, findings, ehdr_struct.sizeof(), shdr_struct.sizeof())
    sections = _section_headers(source, ehdr, shdr_struct, findings)
    names = _names(source, ehdr, sections, findings)
    named = tuple(Section(i, names[i], *fields) for i, (_, fields) in enumerate(sections))
    by_name: dict[str, Section] = {}
    for section in named[1:]:
        if section.name in by_name:
            findings.error(10, f"duplicate section name {section.name!r}",
                           section.header_offset, "sh_name")
        else:
            by_name[section.name] = section
    container = ElfContainer(bits, ehdr, named, by_name, size)
    _check_sections(container, findings)
    return container


def _check_header(ehdr, bits: int, findings: Findings, ehsize: int, shentsize: int) -> None:
    ident = ehdr.ident
    if ident.ei_version != s.EV_CURRENT:
        findings.error(3, f"EI_VERSION {ident.ei_version}, expected 1", 6, "e_ident.ei_version")
    if ehdr.e_version != s.EV_CURRENT:
        findings.error(3, f"e_version {ehdr.e_version}, expected 1", 20, "e_version")
    if ehdr.e_type != s.ET_CORE:
        findings.error(3, f"e_type {ehdr.e_type}, expected 4 (ET_CORE)", 16, "e_type")
    if ehdr.e_machine not in s.KNOWN_MACHINES:
        findings.warn(4, f"e_machine {ehdr.e_machine} is none Xen ever wrote (3, 62, 40, 50)",
                      18, "e_machine")
    if ehdr.e_ehsize != ehsize:
        findings.error(5, f"e_ehsize {ehdr.e_ehsize}, expected {ehsize}", None, "e_ehsize")
    if ehdr.e_shentsize != shentsize:
        findings.error(5, f"e_shentsize {ehdr.e_shentsize}, expected {shentsize}", None,
                       "e_shentsize")
    if ehdr.e_phnum or ehdr.e_phoff:
        findings.warn(6, f"program headers (e_phoff {ehdr.e_phoff}, e_phnum {ehdr.e_phnum}); "
                         "libxc writes none", None, "e_phnum")


def _section_headers(source: Source, ehdr, shdr_struct, findings: Findings):
    size = source.size
    if ehdr.e_shoff == 0:
        raise findings.fatal(7, "e_shoff is 0: no section headers", None, "e_shoff")
    if ehdr.e_shnum == 0:
        raise findings.fatal(7, "e_shnum is 0 (or the extended-numbering escape): no sections",
                             None, "e_shnum")
    if ehdr.e_shentsize != shdr_struct.sizeof():
        raise findings.fatal(5, f"cannot read section headers of {ehdr.e_shentsize} bytes",
                             None, "e_shentsize")
    table = ehdr.e_shnum * shdr_struct.sizeof()
    if ehdr.e_shoff + table > size:
        raise findings.fatal(7, f"section-header table ({table} bytes at {ehdr.e_shoff:#x}) "
                                f"runs past the end of the file ({size} bytes)",
                             ehdr.e_shoff, "e_shoff")
    raw = source.pread(ehdr.e_shoff, table, "section headers")
    entries = []
    step = shdr_struct.sizeof()
    for i in range(ehdr.e_shnum):
        h = shdr_struct.parse(raw[i * step:(i + 1) * step])
        entries.append((h.sh_name, (h.sh_type, h.sh_flags, h.sh_addr, h.sh_offset, h.sh_size,
                                    h.sh_link, h.sh_info, h.sh_addralign, h.sh_entsize,
                                    ehdr.e_shoff + i * step)))
    if any(raw[:step]):
        findings.warn(9, "section header [0] is not all zeros", ehdr.e_shoff, "section[0]")
    return entries


def _names(source: Source, ehdr, entries, findings: Findings) -> list[str]:
    """Each section's name, from the ``(sh_name, fields)`` pairs of :func:`_section_headers`."""
    names_at = [at for at, _ in entries]
    entries = [fields for _, fields in entries]
    index = ehdr.e_shstrndx
    if index == s.SHN_XINDEX or index >= len(entries) or index == 0:
        raise findings.fatal(8, f"e_shstrndx {index} names no section", None, "e_shstrndx")
    kind, _, _, offset, size = entries[index][:5]
    where = entries[index][-1]
    if kind != s.SHT_STRTAB:
        raise findings.fatal(8, f"section {index} (the name table) has sh_type {kind}, "
                                "not STRTAB", where, "sh_type")
    if size == 0 or size > MAX_SHSTRTAB or offset + size > source.size:
        raise findings.fatal(8 if size == 0 or size > MAX_SHSTRTAB else 11,
                             f"the name table ({size} bytes at {offset:#x}) is empty, too big "
                             f"or past the end of the file ({source.size} bytes)",
                             where, "sh_size")
    strtab = source.pread(offset, size, ".shstrtab")
    if strtab[0] != 0 or strtab[-1] != 0:
        raise findings.fatal(8, "the name table does not start and end with NUL", offset,
                             ".shstrtab")
    names = []
    for i, at in enumerate(names_at):
        if i == 0:
            names.append("")
            continue
        if at >= size:
            raise findings.fatal(8, f"section {i}'s name offset {at} is outside the name "
                                    f"table ({size} bytes)", entries[i][-1], "sh_name")
        end = strtab.index(0, at)
        try:
            names.append(strtab[at:end].decode("ascii"))
        except UnicodeDecodeError:
            raise findings.fatal(8, f"section {i}'s name is not ASCII", offset + at,
                                 ".shstrtab") from None
    in_table = [n.decode("ascii", "replace") for n in strtab[1:-1].split(b"\x00")]
    if in_table != names[1:]:
        findings.warn(16, "the .shstrtab string order differs from the section order "
                          "(volatility3 maps names to sections by position)", offset,
                      ".shstrtab")
    return names


def _check_sections(elf: ElfContainer, findings: Findings) -> None:
    spans = []
    for section in elf.sections[1:]:
        where = section.header_offset
        if section.offset + section.size >= 1 << elf.bits:
            findings.error(7, f"{section.name}: offset {section.offset:#x} + size "
                              f"{section.size:#x} overflows {elf.bits} bits", where,
                           f"{section.name}.sh_offset")
        elif section.offset + section.size > elf.file_size:
            findings.error(11, f"{section.name} ({section.size} bytes at {section.offset:#x}) "
                               f"runs past the end of the file ({elf.file_size} bytes): a "
                               "truncated dump", where, f"{section.name}.sh_size")
        want = _EXPECTED_TYPES.get(section.name, s.SHT_PROGBITS)
        if section.type != want:
            findings.error(13, f"{section.name} has sh_type {section.type}, expected {want}",
                           where, f"{section.name}.sh_type")
        for name in ("flags", "addr", "link", "info"):
            if getattr(section, name):
                findings.warn(13, f"{section.name} has non-zero sh_{name} "
                                  f"{getattr(section, name):#x}", where,
                              f"{section.name}.sh_{name}")
        if section.size:
            spans.append((section.offset, section.end, section.name))
    spans.sort()
    for (_, end, name), (start, _, other) in zip(spans, spans[1:]):
        if start < end:
            findings.error(12, f"sections {name} and {other} overlap", start, other)
    header_end = elf.header.e_shoff + len(elf.sections) * structs(elf.bits)[1].sizeof()
    last = max([header_end] + [end for _, end, _ in spans])
    if last < elf.file_size:
        findings.warn(15, f"{elf.file_size - last} bytes after the end of the last section",
                      last, "trailer")
    known = {s.SECTION_SHSTRTAB, s.SECTION_NOTES, s.SECTION_PRSTATUS, s.SECTION_SHARED_INFO,
             s.SECTION_PAGES, s.SECTION_P2M, s.SECTION_PFN, s.SECTION_IA64_REGS}
    for section in elf.sections[1:]:
        if section.name not in known:
            findings.info(17, f"unknown extra section {section.name!r}", section.header_offset,
                          "sh_name")
