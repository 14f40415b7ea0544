"""Reading an ELF dump-core as records: ImageHeader, a VcpuContext per ``.xen_prstatus`` slot,
SharedInfo, PageBatches in table order, End.

Headers, notes, contexts and the table are read with ``pread``; the pages stream through the
source's window in batches of :data:`BATCH` pages, each batch's pfns (and gmfns) read from the
table chunk that describes it.  Memory is one batch whatever the dump's size.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..errors import UnsupportedError
from ..formats import Hints
from ..io import Source
from ..regions import Region, RegionSink
from ..records import (PAGE_SIZE, End, ImageHeader, PageBatch, Provenance, Record,
                       SharedInfo, VcpuContext)
from . import schema as s
from .contexts import ContextChecks
from .dump import CoreDump, open_dump, regions
from .format_a import FormatAReader
from .findings import Findings
from .table import TableChecker

#: Pages per PageBatch record (4 MiB).
BATCH = 1024


class CoreReader:
    """Reader of ELF dump-cores (format B)."""

    def __init__(self, source: Source, hints: Hints | None = None) -> None:
        self.source = source
        self.hints = hints
        self._findings = Findings(source)
        self.on_region: RegionSink | None = None
        #: The dump checks record every problem they can read past whatever this says; only
        #: those that leave the rest unreadable are raised (findings.py).
        self.keep_going = False
        self._dump: CoreDump | None = None
        self._dirty_padding = 0      # check #49: how many, and the first (entry, offset)
        self._first_dirty: tuple[int, int] | None = None

    @property
    def findings(self):
        """Warnings and errors found so far (fatal ones are raised instead)."""
        return self._findings.items

    def open(self) -> CoreDump:
        """Parse and check everything but the pages and table contents (idempotent)."""
        if self._dump is None:
            self._dump = open_dump(self.source, self._findings)
        return self._dump

    def header(self) -> ImageHeader:
        """The ImageHeader the dump stands for."""
        dump = self.open()
        xen = dump.notes.xen_version
        return ImageHeader(
            guest=dump.guest, p2m_size=dump.p2m_size(), guest_bits=dump.guest_bits,
            toolstack_bits=32 if dump.elf.bits == 32 else dump.notes.toolstack_bits,
            xen_version=(xen.major_version, xen.minor_version) if xen.major_version else None,
            provenance=Provenance("core", layout=f"elf{dump.elf.bits}"))

    def records(self) -> Iterator[Record]:
        """ImageHeader, VcpuContexts, SharedInfo, PageBatches in table order, End."""
        dump = self.open()
        if dump.notes.page_size != PAGE_SIZE:
            raise UnsupportedError(f"{self.source.name}: page size {dump.notes.page_size} "
                                   "(ia64?): records carry 4096-byte pages only")
        yield self.header()
        for index in range(dump.nr_vcpus):
            yield VcpuContext(index, dump.context(index))
        if dump.shared_info is not None:
            yield SharedInfo(self.source.pread(dump.shared_info.offset,
                                               dump.shared_info.size, s.SECTION_SHARED_INFO))
        yield from self._pages(dump)
        yield End()

    def _pages(self, dump: CoreDump) -> Iterator[PageBatch]:
        source, table = self.source, dump.table
        contexts = ContextChecks(dump)
        contexts.run()
        checker = TableChecker(table, hvm=not table.p2m, findings=self._findings,
                               roots=frozenset(contexts.roots) if table.p2m else frozenset(),
                               roots_are_pfns=dump.notes.gmfn_is_pfn)
        source.skip(dump.pages.offset - source.offset, "head")
        # Regions in file order: those before the pages, the pages batch by batch, the rest.
        static = regions(dump) if self.on_region else []
        for region in static:
            if region.offset < dump.pages.offset:
                self.on_region(region)
        for start in range(0, table.count, BATCH):
            n = min(BATCH, table.count - start)
            pfns, gmfns = table.chunk(start, n)
            checker.see(start, pfns, gmfns)
            if dump.notes.gmfn_is_pfn:
                gmfns = None   # not machine frames: the dump was made from a save image
            at = source.offset
            data = source.page_data(n * PAGE_SIZE, s.SECTION_PAGES)
            if self.on_region:
                self.on_region(Region(at, n * PAGE_SIZE, "page-data",
                                      f".xen_pages[{start}..{start + n - 1}]"))
            yield from self._runs(start, pfns, gmfns, data, at)
        checker.finish()
        if self._dirty_padding:
            entry, offset = self._first_dirty
            self._findings.warn(49, f"the pages behind {self._dirty_padding} padding entries are "
                                    f"not all zero (the first: entry {entry})", offset, "page")
        for region in static:
            if region.offset >= dump.pages.offset:
                self.on_region(region)
        if table.p2m:
            contexts.missing_roots(checker.found_roots)

    def _runs(self, start, pfns, gmfns, data, at) -> Iterator[PageBatch]:
        """The valid runs of one chunk as PageBatches; padding slots are checked, not yielded."""
        run = 0
        n = len(pfns)
        while run < n:
            if pfns[run] == s.INVALID:
                page = data[run * PAGE_SIZE:(run + 1) * PAGE_SIZE]
                if page.tobytes().count(0) != PAGE_SIZE:
                    self._dirty_padding += 1
                    self._first_dirty = self._first_dirty or (start + run, at + run * PAGE_SIZE)
                run += 1
                continue
            end = run
            while end < n and pfns[end] != s.INVALID:
                end += 1
            yield PageBatch(pfns[run:end], bytes(end - run),
                            data[run * PAGE_SIZE:end * PAGE_SIZE],
                            gmfns[run:end] if gmfns is not None else None,
                            at + run * PAGE_SIZE)
            run = end

    def summary(self) -> dict:
        """The dump's own facts for ``info``: notes, sections, key registers."""
        dump = self.open()
        xen = dump.notes
        return {
            "variant": f"elf{dump.elf.bits}",
            "e_machine": s.MACHINE_NAMES.get(dump.elf.machine, str(dump.elf.machine)),
            "magic": f"{xen.magic:#x}",
            "nr_vcpus": xen.nr_vcpus,
            "nr_pages": xen.nr_pages,
            "page_size": xen.page_size,
            "table": dump.table.name,
            "gmfns": None if not dump.table.p2m else
                     "pfn (made from a save image)" if xen.gmfn_is_pfn else "machine frames",
            "format_version": f"{xen.format_version >> 32}.{xen.format_version & 0xFFFFFFFF}",
            "xen_version": f"{xen.xen_version.major_version}.{xen.xen_version.minor_version}"
                           f"{xen.text('extra_version')}",
            "capabilities": xen.text("capabilities"),
            "sections": [sec.name for sec in dump.elf.sections[1:]],
            "registers": {index: _key_registers(regs)
                          for index in range(min(dump.nr_vcpus, SUMMARY_VCPUS))
                          if (regs := dump.registers(index)) is not None},
        }


#: How many vCPUs ``info`` shows registers for.
SUMMARY_VCPUS = 8


def _key_registers(regs: dict[str, int]) -> dict[str, str]:
    """The registers a first look at a dump wants, in hex."""
    names = ("rip", "rsp", "eip", "esp", "cr3", "flags")
    return {name: f"{regs[name]:#x}" for name in names if name in regs}


def reader_for(source: Source, hints: Hints | None = None) -> CoreReader | FormatAReader:
    """The reader for whichever of the two dump formats ``source`` holds."""
    if source.peek(4) == s.ELF_MAGIC:
        return CoreReader(source, hints)
    return FormatAReader(source, hints)
