"""What each numbered check of a core dump verifies.

``xcformat validate`` ends every finding on a dump with its number, ``(dump check #46)``, so a
support engineer can look it up; the documentation lists this table.  The level is the usual
one (an ``error`` means a reader would fail or read the wrong memory); where a check has two
levels the text says when each applies.  The rules come from Xen's writer
(``tools/libxc/xc_core.c``, ``xc_core_x86.c``, ``xen/include/public/elfnote.h``) and from what
crash (``xendump.c``), libkdumpfile and volatility3 need to read a dump.
"""

from __future__ import annotations

#: number -> (level, what is checked)
CHECKS: dict[int, tuple[str, str]] = {
    # the ELF container
    1: ("error", "the file is at least an ELF header long and starts with \\x7fELF (else it may "
                 "be a pre-ELF dump)"),
    2: ("error", "ELFCLASS64; ELFCLASS32 only as the 32-bit writer of February-March 2007 made "
                 "it (a warning)"),
    3: ("error", "little-endian, ELF version 1, type ET_CORE"),
    4: ("warning", "e_machine is x86 (3, 62), ia64 (50) or ARM (40)"),
    5: ("error", "the ELF header and section header sizes are 64"),
    6: ("warning", "no program headers (Xen writes none)"),
    7: ("error", "a section header table exists, inside the file, with offsets that do not "
                 "overflow"),
    8: ("error", "the section-name table exists, is a string table, starts and ends with NUL, "
                 "and every name lies inside it"),
    9: ("warning", "section header 0 is all zero"),
    10: ("error", "no two sections share a name"),
    11: ("error", "no section runs past the end of the file (a truncated dump)"),
    12: ("error", "sections do not overlap"),
    13: ("error", "each section has its type (NOTE, STRTAB, PROGBITS); non-zero flags, address, "
                  "link or info are a warning"),
    14: ("warning", "the padding before the pages is zero, and there are no other gaps"),
    15: ("warning", "nothing follows the last section"),
    16: ("warning", "the names in the string table are in section order (volatility3 relies "
                    "on it)"),
    17: ("info", "sections Xen does not write (allowed by the format's minor version)"),
    # .note.Xen
    18: ("error", "a .note.Xen section exists"),
    19: ("error", "every note header, name and descriptor lies inside the section, with the "
                  "name \"Xen\\0\""),
    20: ("error", "each of the NONE, HEADER, XEN_VERSION and FORMAT_VERSION notes occurs once"),
    21: ("error", "NONE is empty, HEADER 32 bytes, FORMAT_VERSION 8 bytes"),
    22: ("error", "XEN_VERSION is at least 1276 bytes"),
    23: ("warning", "XEN_VERSION is 1276 or 1280 bytes"),
    24: ("error", "format major version 0"),
    25: ("warning", "format minor version 1"),
    26: ("warning", "no note of an unknown type"),
    27: ("error", "the header's magic is 0xF00FEBED (PV) or 0xF00FEBEE (HVM)"),
    28: ("error", "at least one vCPU; more than 4096 is a warning"),
    29: ("error", "at least one page"),
    30: ("error", "pages x page size does not overflow"),
    31: ("error", "the page size is a power of two"),
    32: ("warning", "the page size is 4096 (16384 on ia64)"),
    33: ("warning", "the XEN_VERSION note's page size agrees with the header's"),
    # the sections against the header note
    34: ("error", ".xen_prstatus exists and holds one context per vCPU of the header"),
    35: ("error", "each context is at least as large as e_machine's layout (2800 for EM_386, "
                  "5168 for EM_X86_64)"),
    36: ("warning", "the context stride is 2800 or 5168 on x86"),
    37: ("error", ".xen_pages exists, holds the header's pages, and starts on a page boundary"),
    38: ("error", "exactly one of .xen_p2m and .xen_pfn"),
    39: ("error", "the table has 16-byte (.xen_p2m) or 8-byte (.xen_pfn) entries, one per page"),
    40: ("error", "on x86, a PV dump has .xen_p2m and an HVM dump .xen_pfn"),
    41: ("info", "on ia64 and ARM, the same pairing"),
    42: ("error", ".xen_shared_info is one page"),
    43: ("warning", "a PV dump on x86 has .xen_shared_info"),
    44: ("warning", "no .xen_ia64_mapped_regs outside ia64"),
    45: ("warning", "each section's offset is a multiple of its alignment (dumps from 32-bit "
                    "tools break this)"),
    # the table
    46: ("error", "the valid pfns are strictly ascending (crash would read the wrong page)"),
    47: ("error", "no p2m entry with only one half all ones"),
    48: ("warning", "invalid entries only after the last valid one (Xen pads only at the end)"),
    49: ("warning", "the page behind an invalid entry is zero"),
    50: ("warning", "no 32-bit all-ones value used as the invalid marker"),
    51: ("warning", "no gmfn twice in .xen_p2m"),
    52: ("warning", "gmfns and pfns fit 52-bit physical addresses"),
    53: ("info", "no HVM pfn in the VGA hole (0xA0-0xBF) or the MMIO hole (0xF0000-0xFFFFF)"),
    54: ("warning", "at least one valid entry"),
    # the vCPU contexts
    55: ("warning", "a 64-bit PV guest's cr3 has its low 12 bits clear"),
    56: ("warning", "some vCPU is online"),
    57: ("warning", "an EM_386 context's slot is zero beyond its 2800 bytes"),
    58: ("warning", "a PV guest's cr3 frame is among the dumped pages"),
    # the pre-ELF format
    59: ("error", "the contexts start at offset 24"),
    60: ("error", "the contexts' size is the vCPU count times 2800 or 5168"),
    61: ("error", "the index entry width (4 or 8) follows from the offsets, and the pages start "
                  "on a page boundary"),
    62: ("error", "the file holds every page (not truncated)"),
    63: ("warning", "nothing follows the last page"),
    64: ("error", "the magic is not byte-swapped"),
}
