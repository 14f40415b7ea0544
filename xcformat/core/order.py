"""The order of the parts of an ELF domain core dump, for the format reference (what
``xc_domain_dumpcore_via_callback()`` writes, ``tools/libxc/xc_core.c``; the same in
``tools/libs/guest/xg_core.c`` today)."""

from ..schema import Part, Sample, stream_order

#: This order dates from August 2007; in the ELF dumps of the months before (from e3ce7ff90f,
#: February 2007) the p2m/pfn table came before the padding and the pages.
ORDER = stream_order(
    "core",
    Part("ELF header", 64, "elf64-header",
         doc="ELFCLASS64 (ELFCLASS32 only in two weeks of 2007), ET_CORE, no program headers"),
    Part("section headers", "64·N", "section64-header", repeat="N = 7, or 6 without shared info",
         doc="null, .shstrtab, .note.Xen, .xen_prstatus, [.xen_shared_info], .xen_pages, "
             ".xen_p2m or .xen_pfn; readers must find sections by name, not by position"),
    Part(".note.Xen", "104 + V: 1384 from 64-bit tools, 1380 from 32-bit ones", "note-header",
         offset="64 + 64·N", doc="four notes: NONE, HEADER, XEN_VERSION (V bytes), "
                               "FORMAT_VERSION"),
    Part(".xen_prstatus", "5168 × nr_vcpus", "xen-prstatus", offset="64 + 64·N + 104 + V",
         doc="one vcpu_guest_context per vCPU, packed"),
    Part(".xen_shared_info", 4096, "xen-shared-info", when="PV always; HVM when it could be "
         "mapped"),
    Part("padding", "0 to 4095", doc="zeros up to the next page boundary"),
    Part(".xen_pages", "4096 × nr_pages", "xen-pages", offset="page-aligned",
         doc="the guest's pages; page i belongs to table entry i"),
    Part(".xen_p2m or .xen_pfn", "16 × nr_pages (PV) or 8 × nr_pages", "p2m-entry",
         offset="after .xen_pages", doc="(pfn, gmfn) pairs for PV, pfns for HVM"),
    Part(".shstrtab", "72, or 55 without shared info", doc="the section names"),
    title="File order", source="e3ce7ff90f:tools/libxc/xc_core.c",
    doc="Every integer is little-endian. The pages are the one part aligned by the format: the "
        "padding before them brings them to a page boundary. The pre-ELF format of 2005 to "
        "2007 (a 24-byte header, the contexts, an index, the pages) is described with its "
        "structures below.",
    sample=Sample(guest="pv", pages=32, convert=("--to", "core")))
