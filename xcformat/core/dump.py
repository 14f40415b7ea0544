"""An ELF dump-core opened for reading: its sections checked against its notes (checks #34-#45
listed in :mod:`xcformat.core.checks`), and random access to pages, gmfns and vCPU contexts without scanning the pages.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..io import Source
from ..regions import Region
from ..records import GuestType
from . import elf, notes
from . import schema as s
from .contexts import context_bits, registers
from .elf import ElfContainer, Section
from .findings import Findings
from .notes import DumpNotes
from .table import Table

_X86 = (s.EM_386, s.EM_X86_64)
#: Context size each x86 ``e_machine`` implies.
CONTEXT_SIZE = {s.EM_386: s.CTX_X86_32, s.EM_X86_64: s.CTX_X86_64}
#: Limit on the bytes of padding or gaps the validator reads to check they are zero.
_MAX_GAP_CHECK = 1 << 20


@dataclass
class CoreDump:
    """An opened ELF dump: its container, notes and checked sections, with random access."""

    source: Source
    elf: ElfContainer
    notes: DumpNotes
    prstatus: Section
    pages: Section
    table: Table
    shared_info: Section | None
    findings: Findings

    # -- what the dump is -------------------------------------------------------------------
    @property
    def guest(self) -> GuestType:
        """PV or HVM, from the table kind (the magic is checked against it, #40)."""
        return GuestType.PV if self.table.p2m else GuestType.HVM

    @property
    def guest_bits(self) -> int | None:
        """PV guest width from ``e_machine``; None for HVM."""
        if self.guest is GuestType.HVM:
            return None
        return 32 if self.elf.machine == s.EM_386 else 64

    @property
    def context_size(self) -> int:
        """Bytes of each slot that hold the guest-layout ``vcpu_guest_context``."""
        return min(CONTEXT_SIZE.get(self.elf.machine, self.prstatus.entsize),
                   self.prstatus.entsize)

    @property
    def nr_vcpus(self) -> int:
        """Contexts in ``.xen_prstatus`` (its size over its stride)."""
        return self.prstatus.size // self.prstatus.entsize

    # -- random access ----------------------------------------------------------------------
    def context(self, index: int) -> bytes:
        """The guest-layout context in ``.xen_prstatus`` slot ``index``."""
        if not 0 <= index < self.nr_vcpus:
            raise IndexError(f"no vCPU slot {index} (the dump has {self.nr_vcpus})")
        return self.source.pread(self.prstatus.offset + index * self.prstatus.entsize,
                                 self.context_size, f".xen_prstatus[{index}]")

    def registers(self, index: int) -> dict[str, int] | None:
        """Slot ``index``'s registers by name (rip/rsp or eip/esp, cr0..cr7, selectors...);
        None for architectures other than x86, whose contexts are kept as raw bytes."""
        bits = context_bits(self.elf.machine)
        return None if bits is None else registers(self.context(index), bits)

    def page_at(self, index: int) -> bytes:
        """Page ``index`` of ``.xen_pages`` (table entry ``index``'s page)."""
        return self.source.pread(self.pages.offset + index * self.notes.page_size,
                                 self.notes.page_size, f".xen_pages[{index}]")

    def page(self, pfn: int) -> bytes | None:
        """The page of guest frame ``pfn``, or None if the dump does not hold it."""
        index = self.table.find_pfn(pfn)
        return None if index is None else self.page_at(index)

    def page_by_gmfn(self, gmfn: int) -> bytes | None:
        """PV: the page that machine frame ``gmfn`` backed, or None.

        A binary search where the dump says gmfn = pfn; otherwise a scan of the table (the gmfn
        column has no order), never of the pages.
        """
        if self.notes.gmfn_is_pfn:
            return self.page(gmfn)
        index = self.table.find_gmfn(gmfn)
        return None if index is None else self.page_at(index)

    def p2m_size(self) -> int:
        """Highest dumped pfn + 1 (0 if none), from the sorted table by binary search."""
        last = self.table.last_valid()
        return 0 if last is None else self.table.pfn_at(last) + 1


def open_dump(source: Source, findings: Findings) -> CoreDump:
    """Parse and check ``source`` as an ELF dump, everything but the table contents."""
    container = elf.parse(source, findings)
    dump_notes = notes.parse(source, container, findings)
    machine = container.machine
    prstatus = _prstatus(container, dump_notes, findings)
    pages = _pages(container, dump_notes, findings)
    table = _table(source, container, dump_notes, findings)
    shared = _shared_info(container, dump_notes, findings, table)
    ia64 = container.get(s.SECTION_IA64_REGS)
    if ia64 is not None and machine != s.EM_IA_64:
        findings.warn(44, ".xen_ia64_mapped_regs in a dump that is not ia64",
                      ia64.header_offset, s.SECTION_IA64_REGS)
    for section in (prstatus, shared, table_section(container)):
        if section is not None and section.addralign > 1 and section.offset % section.addralign:
            findings.warn(45, f"{section.name} at {section.offset:#x} is not a multiple of its "
                              f"sh_addralign {section.addralign} (real 32-bit-tool dumps do "
                              "this)", section.header_offset, f"{section.name}.sh_offset")
    dump = CoreDump(source, container, dump_notes, prstatus, pages, table, shared, findings)
    _check_gaps(dump)
    return dump


def table_section(container: ElfContainer) -> Section | None:
    """``.xen_p2m`` or ``.xen_pfn``, whichever the dump has."""
    return container.get(s.SECTION_P2M) or container.get(s.SECTION_PFN)


def _prstatus(container: ElfContainer, dump_notes: DumpNotes, findings: Findings) -> Section:
    section = container.get(s.SECTION_PRSTATUS)
    if section is None:
        raise findings.fatal(34, "no .xen_prstatus section", None, s.SECTION_PRSTATUS)
    where, field = section.header_offset, ".xen_prstatus.sh_entsize"
    if section.entsize == 0:
        raise findings.fatal(34, ".xen_prstatus sh_entsize is 0", where, field)
    if section.size % section.entsize:
        raise findings.fatal(34, f".xen_prstatus size {section.size} is not a multiple of "
                                 f"sh_entsize {section.entsize}", where, field)
    if section.end > container.file_size:
        raise findings.fatal(11, ".xen_prstatus runs past the end of the file", where,
                             ".xen_prstatus.sh_size")
    count = section.size // section.entsize
    if count != dump_notes.nr_vcpus:
        findings.error(34, f".xen_prstatus holds {count} contexts, the header note says "
                           f"{dump_notes.nr_vcpus}", where, ".xen_prstatus.sh_size")
    machine = container.machine
    if machine in CONTEXT_SIZE and section.entsize < CONTEXT_SIZE[machine]:
        raise findings.fatal(35, f".xen_prstatus sh_entsize {section.entsize} is smaller than "
                                 f"the {CONTEXT_SIZE[machine]}-byte context e_machine "
                                 f"{machine} implies", where, field)
    if machine in _X86 and section.entsize not in (s.CTX_X86_32, s.CTX_X86_64):
        findings.warn(36, f".xen_prstatus sh_entsize {section.entsize} is neither 2800 nor "
                          "5168", where, field)
    return section


def _pages(container: ElfContainer, dump_notes: DumpNotes, findings: Findings) -> Section:
    section = container.get(s.SECTION_PAGES)
    page = dump_notes.page_size
    if section is None:
        raise findings.fatal(37, "no .xen_pages section", None, s.SECTION_PAGES)
    where = section.header_offset
    if page == 0 or page & (page - 1):
        raise findings.fatal(31, f"page size {page} is unusable", where, "xch_page_size")
    if section.entsize != page:
        findings.error(37, f".xen_pages sh_entsize {section.entsize} is not the page size "
                           f"{page}", where, ".xen_pages.sh_entsize")
    if section.size != dump_notes.nr_pages * page:
        raise findings.fatal(37, f".xen_pages size {section.size} is not nr_pages "
                                 f"{dump_notes.nr_pages} x {page}", where, ".xen_pages.sh_size")
    if section.offset % page:
        findings.error(37, f".xen_pages offset {section.offset:#x} is not page-aligned", where,
                       ".xen_pages.sh_offset")
    if section.addralign % page:
        findings.error(37, f".xen_pages sh_addralign {section.addralign} is not a multiple of "
                           f"the page size {page}", where, ".xen_pages.sh_addralign")
    if section.end > container.file_size:
        raise findings.fatal(11, f".xen_pages ends at {section.end:#x}, past the end of the "
                                 f"file ({container.file_size} bytes): a truncated dump", where,
                             ".xen_pages.sh_size")
    return section


def _table(source: Source, container: ElfContainer, dump_notes: DumpNotes,
           findings: Findings) -> Table:
    p2m, pfn = container.get(s.SECTION_P2M), container.get(s.SECTION_PFN)
    if (p2m is None) == (pfn is None):
        raise findings.fatal(38, "a dump needs exactly one of .xen_p2m and .xen_pfn "
                                 f"({'both' if p2m else 'neither'} present)", None, "sections")
    section = p2m or pfn
    entsize = 16 if p2m else 8
    where = section.header_offset
    if section.entsize != entsize:
        findings.error(39, f"{section.name} sh_entsize {section.entsize}, expected {entsize}",
                       where, f"{section.name}.sh_entsize")
    if section.size != dump_notes.nr_pages * entsize:
        raise findings.fatal(39, f"{section.name} size {section.size} is not nr_pages "
                                 f"{dump_notes.nr_pages} x {entsize}", where,
                             f"{section.name}.sh_size")
    if section.end > container.file_size:
        raise findings.fatal(11, f"{section.name} ends at {section.end:#x}, past the end of the "
                                 f"file ({container.file_size} bytes): a truncated dump", where,
                             f"{section.name}.sh_size")
    magic = dump_notes.magic
    if container.machine in _X86:
        if (magic == s.MAGIC_PV and not p2m) or (magic == s.MAGIC_HVM and p2m):
            findings.error(40, f"magic {magic:#x} does not go with {section.name} on x86",
                           where, "xch_magic")
    elif magic in s.MAGICS and (magic == s.MAGIC_PV) != bool(p2m):
        findings.info(41, f"magic {magic:#x} with {section.name} (normal off x86)", where,
                      "xch_magic")
    return Table(source, section.offset, dump_notes.nr_pages, p2m=bool(p2m))


def _shared_info(container: ElfContainer, dump_notes: DumpNotes, findings: Findings,
                 table: Table) -> Section | None:
    section = container.get(s.SECTION_SHARED_INFO)
    if section is None:
        if dump_notes.magic == s.MAGIC_PV and container.machine in _X86:
            findings.warn(43, "no .xen_shared_info in a PV dump", None, s.SECTION_SHARED_INFO)
        return None
    if section.size != dump_notes.page_size:
        raise findings.fatal(42, f".xen_shared_info is {section.size} bytes, not one page",
                             section.header_offset, ".xen_shared_info.sh_size")
    if section.end > container.file_size:
        raise findings.fatal(11, ".xen_shared_info runs past the end of the file",
                             section.header_offset, ".xen_shared_info.sh_size")
    return section


def _check_gaps(dump: CoreDump) -> None:
    """#14: the pre-pages padding must be zero; other gaps between sections are suspicious."""
    container = dump.elf
    header_end = container.header.e_shoff + len(container.sections) * \
        elf.structs(container.bits)[1].sizeof()
    spans = sorted((sec.offset, sec.end, sec.name) for sec in container.sections[1:] if sec.size)
    spans.insert(0, (0, header_end, "headers"))
    for (_, end, name), (start, _, following) in zip(spans, spans[1:]):
        if start <= end:
            continue
        if following == s.SECTION_PAGES:
            data = dump.source.pread(end, min(start - end, _MAX_GAP_CHECK), "padding")
            if data.count(0) != len(data):
                dump.findings.warn(14, f"non-zero bytes in the padding before .xen_pages "
                                       f"({end:#x}..{start:#x})", end, "padding")
        else:
            dump.findings.warn(14, f"{start - end} unexplained bytes between {name} and "
                                   f"{following}", end, "gap")


def regions(dump: CoreDump) -> list[Region]:
    """Everything but the page data, in file order: headers, sections, the table, the padding
    before the pages and any trailing bytes (the reader interleaves the page data)."""
    container = dump.elf
    bits = container.bits
    ehdr, shdr = elf.structs(bits)
    found = [Region(0, ehdr.sizeof(), "header", f"ELF header (ELFCLASS{bits})"),
             Region(container.header.e_shoff, len(container.sections) * shdr.sizeof(), "header",
                    f"{len(container.sections)} section headers")]
    table = table_section(container)
    for section in container.sections[1:]:
        if section is dump.pages or not section.size:
            continue
        kind = "index" if section is table else "section"
        found.append(Region(section.offset, section.size, kind, section.name))
    before = [r.offset + r.length for r in found if r.offset + r.length <= dump.pages.offset]
    start = max(before, default=dump.pages.offset)
    if start < dump.pages.offset:
        found.append(Region(start, dump.pages.offset - start, "padding",
                            "zero padding to the page boundary"))
    end = max([r.offset + r.length for r in found] + [dump.pages.end])
    if end < container.file_size:
        found.append(Region(end, container.file_size - end, "trailer",
                            "bytes after the last section"))
    return sorted(found, key=lambda r: r.offset)
