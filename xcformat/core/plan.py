"""Where every part of an ELF dump-core goes, decided before a byte is written.

Two layouts:

* ``libxc`` (default): the current libxc order.  Head (headers, notes, contexts, shared info,
  zero padding) is a whole number of pages; pages follow; then the table and ``.shstrtab``, so the
  file ends ragged.
* ``aligned``: the table and ``.shstrtab`` move into the head, before the padding (where the
  2007-02..08 writer had the table).  The file is then head + pages and every write is
  whole aligned blocks.  Section headers and the string table keep libxc's order, so by-name and
  position-coupled readers (volatility3) both work.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..records import PAGE_SIZE
from . import schema as s

#: The 64-bit-toolstack sizes libxc writes today.
XEN_VERSION_SIZE = 1280
NOTES_SIZE = 4 * 16 + 0 + 32 + XEN_VERSION_SIZE + 8


@dataclass(frozen=True)
class SectionPlan:
    """One section header's contents, as the writer will write it."""

    name: str
    type: int
    offset: int
    size: int
    addralign: int
    entsize: int


def _round(n: int, to: int = PAGE_SIZE) -> int:
    return -(-n // to) * to


def shstrtab(names: list[str]) -> tuple[bytes, dict[str, int]]:
    """The string table in section order, and each name's offset in it."""
    table = bytearray(b"\x00")
    offsets = {}
    for name in names:
        offsets[name] = len(table)
        table += name.encode("ascii") + b"\x00"
    return bytes(table), offsets


@dataclass(frozen=True)
class DumpPlan:
    """Every offset of a dump with these counts, for the libxc or the all-aligned layout."""

    nr_vcpus: int
    nr_pages: int
    pv: bool
    shared_info: bool
    aligned: bool = False

    @property
    def table_name(self) -> str:
        """``.xen_p2m`` for PV, ``.xen_pfn`` for HVM."""
        return s.SECTION_P2M if self.pv else s.SECTION_PFN

    @property
    def entry_size(self) -> int:
        """Bytes per table entry (16 or 8)."""
        return 16 if self.pv else 8

    @property
    def names(self) -> list[str]:
        """Section names in header order (the null section excluded)."""
        names = [s.SECTION_SHSTRTAB, s.SECTION_NOTES, s.SECTION_PRSTATUS]
        if self.shared_info:
            names.append(s.SECTION_SHARED_INFO)
        return names + [s.SECTION_PAGES, self.table_name]

    @property
    def strtab(self) -> bytes:
        """The contents of ``.shstrtab``."""
        return shstrtab(self.names)[0]

    @property
    def notes_offset(self) -> int:
        """Right after the section headers."""
        return 64 + 64 * (len(self.names) + 1)

    @property
    def prstatus_offset(self) -> int:
        """Right after the notes."""
        return self.notes_offset + NOTES_SIZE

    @property
    def shared_info_offset(self) -> int:
        """Right after the contexts (5168 bytes each)."""
        return self.prstatus_offset + self.nr_vcpus * s.CTX_X86_64

    @property
    def head_end(self) -> int:
        """End of the unpadded head (for ``aligned``: after table and string table)."""
        end = self.shared_info_offset + (PAGE_SIZE if self.shared_info else 0)
        if self.aligned:
            end += self.table_size + len(self.strtab)
        return end

    @property
    def table_size(self) -> int:
        """Bytes of the table."""
        return self.nr_pages * self.entry_size

    @property
    def pages_offset(self) -> int:
        """The first page boundary after the head."""
        return _round(self.head_end)

    @property
    def table_offset(self) -> int:
        """After the pages (libxc) or after the shared info (aligned)."""
        if self.aligned:
            return self.shared_info_offset + (PAGE_SIZE if self.shared_info else 0)
        return self.pages_offset + self.nr_pages * PAGE_SIZE

    @property
    def strtab_offset(self) -> int:
        """Right after the table."""
        return self.table_offset + self.table_size

    @property
    def file_size(self) -> int:
        """The dump's exact length."""
        if self.aligned:
            return self.pages_offset + self.nr_pages * PAGE_SIZE
        return self.strtab_offset + len(self.strtab)

    def sections(self) -> list[SectionPlan]:
        """The section headers' contents, in header order."""
        by_name = {
            s.SECTION_SHSTRTAB: SectionPlan(s.SECTION_SHSTRTAB, s.SHT_STRTAB, self.strtab_offset,
                                            len(self.strtab), 0, 0),
            s.SECTION_NOTES: SectionPlan(s.SECTION_NOTES, s.SHT_NOTE, self.notes_offset,
                                         NOTES_SIZE, 0, 0),
            s.SECTION_PRSTATUS: SectionPlan(s.SECTION_PRSTATUS, s.SHT_PROGBITS,
                                            self.prstatus_offset,
                                            self.nr_vcpus * s.CTX_X86_64, 8, s.CTX_X86_64),
            s.SECTION_SHARED_INFO: SectionPlan(s.SECTION_SHARED_INFO, s.SHT_PROGBITS,
                                               self.shared_info_offset, PAGE_SIZE, 8, PAGE_SIZE),
            s.SECTION_PAGES: SectionPlan(s.SECTION_PAGES, s.SHT_PROGBITS, self.pages_offset,
                                         self.nr_pages * PAGE_SIZE, PAGE_SIZE, PAGE_SIZE),
            self.table_name: SectionPlan(self.table_name, s.SHT_PROGBITS, self.table_offset,
                                         self.table_size, 8, self.entry_size),
        }
        return [by_name[name] for name in self.names]
