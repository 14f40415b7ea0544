"""Writing records as an ELF dump-core, laid out as current 64-bit libxc writes it.

The write pattern (docs/core-dumps.rst): every offset is fixed first; the head (ELF header, section
headers, notes, contexts, shared info, zero padding) goes out in one write whose length is a
whole number of pages; pages follow, read back in pfn order straight into the sink's aligned
chunks (``Sink.write_from``); the table and the string table come last, in whole 4096-byte
blocks but for the final ragged one (the sink pads and truncates that where it writes O_DIRECT).
``WriteOptions.align`` moves table and string table into the head so that the file ends on a
page boundary.

What a save image cannot tell a dump, and what is written instead:

* gmfns (PV): a save image has pfns only, and its page tables and cr3 are canonicalised to
  pfns.  ``.xen_p2m`` therefore maps each pfn to gmfn = pfn, which keeps machine-address lookups
  through the table consistent with those canonical page tables.  The XEN_VERSION note's
  ``changeset`` says so (``schema.GMFN_IS_PFN``); the reader reports it and
  looks gmfns up by binary search.  Dumps read from dumps keep their real gmfns.  (Not a note of
  its own: readers warn about unknown note types, illumos mdb among them, and crash's note walk
  assumes Xen's.)
* HVM vCPU state lives in the HVM context blob: each CPU record becomes an x86_64
  ``vcpu_guest_context`` the way Xen fills one for an HVM vCPU
  (:mod:`xcformat.core.hvm_cpu`).  An image with neither contexts nor CPU records gets one zeroed
  context (a dump needs at least one) and the writer says so.
* Device-model state, HVM parameters, TSC info and the like have no place in a dump; the writer
  names what it left out.  :class:`~xcformat.records.Opaque` records are refused unless the
  user allows dropping them (``--drop KIND``), as every writer does.
"""

from __future__ import annotations

import array
import mmap
from collections.abc import Callable, Iterable
from typing import Any

from ..drops import kind_of, refuse_or_drop, report_dropped, what_of
from ..errors import FormatError
from ..formats import WriteOptions
from ..io import Sink
from ..io.buffers import aligned_buffer, discard
from ..io.spool import Spool
from ..records import (PAGE_SIZE, Checkpoint, End, GuestType, HvmContext, ImageHeader,
                       LastCheckpoint, Opaque, P2MFrames, PageBatch, Record, SharedInfo,
                       UnmappedPfns, VcpuContext, VcpuInfo, Wrapper)
from . import schema as s
from .collect import PageCollector
from .hvm_cpu import contexts_from_blob
from .plan import XEN_VERSION_SIZE, DumpPlan, shstrtab

#: XENVER_capabilities of a 64-bit Xen host, written into the XEN_VERSION note: a save image does
#: not record the host's, and illumos mdb reads the guest's width from it with e_machine.
CAPABILITIES = b"xen-3.0-x86_64 xen-3.0-x86_32p hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64"


class CoreWriter:
    """Writer of ELF dump-cores from any image's records."""

    def __init__(self, sink: Sink, options: WriteOptions | None = None) -> None:
        self.sink = sink
        self.options = options or WriteOptions()
        self.header: ImageHeader | None = None
        self.contexts: dict[int, bytes] = {}
        self.shared_info: bytes | None = None
        self.hvm_context: bytes | None = None
        self.dropped: set[str] = set()
        self._pages_in: PageCollector | None = None
        #: What a dump does with each record kind it carries: everything else is state a dump
        #: has no place for, left out and reported.  A save image's framing, its online vCPU
        #: set (the contexts say it), the p2m frames and unmapped pfns (a restore's) and the
        #: wrapper's configuration are not the guest's state: they go without a word.
        self.handlers: dict[type[Record], Callable[[Any], None]] = {
            ImageHeader: self._on_header, PageBatch: self._on_pages,
            VcpuContext: self._on_context, SharedInfo: self._on_shared_info,
            HvmContext: self._on_hvm_context, Opaque: self._refuse,
            **dict.fromkeys((End, VcpuInfo, Checkpoint, LastCheckpoint, P2MFrames, UnmappedPfns,
                             Wrapper), _ignore)}

    def write(self, records: Iterable[Record]) -> None:
        """Consume ``records`` up to End, then write the dump."""
        try:
            for record in records:
                handler = self.handlers.get(type(record))
                if handler is None:
                    self.dropped.add(kind_of(record))
                else:
                    handler(record)
                if type(record) is End:
                    break
            else:
                raise FormatError("the records ended without End", field="records")
            if self._pages_in is None:
                raise FormatError("no image header in the records", field="records")
            self._emit(self._pages_in)
        finally:
            if self._pages_in is not None:
                self._pages_in.close()

    def _on_header(self, record: ImageHeader) -> None:
        self.header = record
        if self._pages_in is not None:
            self._pages_in.close()
        self._pages_in = PageCollector(record.p2m_size, Spool(self.sink, field="page data"))

    def _on_pages(self, record: PageBatch) -> None:
        if self._pages_in is None:
            raise FormatError("page data before the image header", field="records")
        self._pages_in.add(record)

    def _on_context(self, record: VcpuContext) -> None:
        self.contexts[record.vcpu_id] = record.context

    def _on_shared_info(self, record: SharedInfo) -> None:
        self.shared_info = bytes(record.page)

    def _on_hvm_context(self, record: HvmContext) -> None:
        self.hvm_context = bytes(record.blob)

    def _refuse(self, record: Opaque) -> None:
        """Opaque records leave only with the user's leave (``--drop KIND``), as elsewhere."""
        refuse_or_drop(self.options, "core", kind_of(record), what_of(record))

    # -- the dump -----------------------------------------------------------------------------
    def _emit(self, pages: PageCollector) -> None:
        header = self.header
        pv = header.guest is GuestType.PV
        report_dropped(self.options, "core", self.dropped)
        if pages.resent:
            self.options.say(f"{pages.resent} re-sent pages: the last copy of each was kept")
        contexts = self._contexts(pv)
        if pages.count == 0:
            raise FormatError("the image holds no pages: a dump needs at least one",
                              field="pages")
        plan = DumpPlan(len(contexts), pages.count, pv, self.shared_info is not None,
                        aligned=self.options.align)
        # Page-aligned memory, a whole number of pages: one aligned write, no bounce copy.
        head = aligned_buffer(plan.pages_offset)
        try:
            self._head(head, plan, contexts, pages)
            self.sink.write(head)
        finally:
            discard(head)
        self._pages(pages)
        if not plan.aligned:
            self._tail(plan, pages)

    def _contexts(self, pv: bool) -> list[bytes]:
        bits = self.header.guest_bits or 64
        size = s.CTX_X86_32 if pv and bits == 32 else s.CTX_X86_64
        by_id = self.contexts
        if not pv:
            # An HVM dump holds x86_64 contexts (EM_X86_64); the CPU records are the real state.
            # The 2007 HVM layout also sent toolstack-native contexts: used only as a fallback.
            from_blob = contexts_from_blob(self.hvm_context) if self.hvm_context else {}
            usable = {i: c for i, c in by_id.items() if len(c) == size}
            if not from_blob and len(usable) < len(by_id):
                self.options.say("HVM vCPU contexts in the 32-bit toolstack layout (the 2007 "
                                 "HVM stream) cannot go into an EM_X86_64 dump: left out")
            by_id = from_blob or usable
        contexts = [by_id[i] for i in sorted(by_id)]
        for i, ctx in enumerate(contexts):
            if len(ctx) < size:
                raise FormatError(f"vCPU context {i} is {len(ctx)} bytes, the guest layout "
                                  f"needs {size}", field="VcpuContext")
        if not contexts:
            self.options.say("no vCPU state in the image: writing one zeroed context")
            contexts = [bytes(size)]
        return [ctx[:size].ljust(s.CTX_X86_64, b"\x00") for ctx in contexts]

    def _machine(self, pv: bool) -> int:
        # EM_386 for 32-bit PV guests (Xen commit 3967bb3aff), EM_X86_64 otherwise.
        return s.EM_386 if pv and self.header.guest_bits == 32 else s.EM_X86_64

    def _head(self, head: mmap.mmap, plan: DumpPlan, contexts: list[bytes],
              pages: PageCollector) -> None:
        """Fill ``head`` (zeroed, ``plan.pages_offset`` bytes) with everything before the pages."""
        pv = plan.pv
        sections = plan.sections()
        head[0:64] = s.elf64_header.build(dict(
            ident=dict(ei_class=s.ELFCLASS64, ei_data=s.ELFDATA2LSB, ei_version=s.EV_CURRENT,
                       ei_osabi=0, ei_abiversion=s.EV_CURRENT, ei_pad=bytes(7)),
            e_type=s.ET_CORE, e_machine=self._machine(pv), e_version=s.EV_CURRENT,
            e_entry=0, e_phoff=0, e_shoff=64, e_flags=0, e_ehsize=64, e_phentsize=56,
            e_phnum=0, e_shentsize=64, e_shnum=len(sections) + 1, e_shstrndx=1))
        strtab, name_at = shstrtab(plan.names)
        at = 128   # section header [0] stays all zeros
        for section in sections:
            head[at:at + 64] = s.section64_header.build(dict(
                sh_name=name_at[section.name], sh_type=section.type, sh_flags=0, sh_addr=0,
                sh_offset=section.offset, sh_size=section.size, sh_link=0, sh_info=0,
                sh_addralign=section.addralign, sh_entsize=section.entsize))
            at += 64
        notes = self._notes(plan, pages)
        head[plan.notes_offset:plan.notes_offset + len(notes)] = notes
        for i, ctx in enumerate(contexts):
            slot = plan.prstatus_offset + i * s.CTX_X86_64
            head[slot:slot + s.CTX_X86_64] = ctx
        if self.shared_info is not None:
            page = self.shared_info.ljust(PAGE_SIZE, b"\x00")[:PAGE_SIZE]
            head[plan.shared_info_offset:plan.shared_info_offset + PAGE_SIZE] = page
        if plan.aligned:
            at = plan.table_offset
            for entries in self._table_blocks(plan, pages):
                head[at:at + len(entries)] = entries
                at += len(entries)
            head[plan.strtab_offset:plan.strtab_offset + len(strtab)] = strtab

    def _notes(self, plan: DumpPlan, pages: PageCollector) -> bytes:
        def note(kind: int, desc: bytes) -> bytes:
            return s.note_header.build(dict(namesz=4, descsz=len(desc), type=kind,
                                            name=s.NOTE_NAME)) + desc

        header = s.header_desc.build(dict(
            xch_magic=s.MAGIC_PV if plan.pv else s.MAGIC_HVM, xch_nr_vcpus=plan.nr_vcpus,
            xch_nr_pages=plan.nr_pages, xch_page_size=PAGE_SIZE))
        major, minor = self.header.xen_version or (0, 0)
        changeset = s.GMFN_IS_PFN if plan.pv and pages.gmfns is None else b""
        fields = dict(major_version=major, minor_version=minor, extra_version=bytes(16),
                      compiler=bytes(64), compile_by=bytes(16), compile_domain=bytes(32),
                      compile_date=bytes(32), capabilities=CAPABILITIES.ljust(1024, b"\x00"),
                      changeset=changeset.ljust(64, b"\x00"), virt_start=0, pagesize=PAGE_SIZE)
        if self._machine(plan.pv) == s.EM_386:
            # 64-bit tools (since 2009-01) fill the tail at a 32-bit PV guest's width.
            version = s.xen_version_desc_pv32.build(dict(fields, stale=bytes(4)))
        else:
            version = s.xen_version_desc64.build(fields)
        assert len(version) == XEN_VERSION_SIZE
        return b"".join((note(s.NOTE_NONE, b""), note(s.NOTE_HEADER, header),
                         note(s.NOTE_XEN_VERSION, version),
                         note(s.NOTE_FORMAT_VERSION,
                              s.format_version_desc.build(dict(version=s.FORMAT_VERSION)))))

    def _pages(self, pages: PageCollector) -> None:
        """The pages in pfn order, read back from where the spool keeps them (the input, or the
        scratch file for a stream) as the sink writes them."""
        self.sink.write_from((read, offset, n * PAGE_SIZE) for read, offset, n in pages.runs())

    def _table_blocks(self, plan: DumpPlan, pages: PageCollector):
        """The table as byte blocks, in pfn order."""
        for pfns, _ in pages.sorted_entries():
            if plan.pv:
                words = [w for pfn in pfns for w in (pfn, pages.gmfn(pfn))]
            else:
                words = pfns
            yield array.array("Q", words).tobytes()

    def _tail(self, plan: DumpPlan, pages: PageCollector) -> None:
        """Table then string table, in whole 4096-byte blocks but for the last."""
        pending = bytearray()
        for block in self._table_blocks(plan, pages):
            pending += block
            whole = len(pending) - len(pending) % PAGE_SIZE
            if whole:
                self.sink.write(pending[:whole])
                del pending[:whole]
        pending += plan.strtab
        self.sink.write(pending)


def _ignore(record: Record) -> None:
    """What a dump needs nothing of (see ``CoreWriter.handlers``; End ends the loop)."""
