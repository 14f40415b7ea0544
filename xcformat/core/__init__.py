"""Xen domain core dumps: the ELF dump-core (``xl dump-core``) and the pre-ELF 2007 format A.

The layouts are in spec/core.md.  :mod:`.schema` declares every structure; :mod:`.dump`
opens an ELF dump for random access (page by pfn or gmfn, contexts); :mod:`.reader` and
:mod:`.format_a` turn dumps into records; :mod:`.writer` turns any image's records into a dump.
"""

from __future__ import annotations

from ..formats import Capabilities, Format, deferred
from . import schema
from .sniff import sniff


#: The writer writes ELF dump-cores of the one format version there is (the pre-ELF format is
#: read only).
CAPABILITIES = Capabilities(
    noun="core dumps",
    versions=(schema.FORMAT_VERSION,),
    aligned="the .xen_p2m/.xen_pfn table and .shstrtab before the pages, so that every write is "
            "whole 4 KiB blocks",
)

FORMAT = Format(
    name="core",
    description="Xen domain core dump (ELF dump-core, and the pre-ELF 2007 format)",
    sniff=sniff,
    reader=deferred("xcformat.core.reader", "reader_for"),
    writer=deferred("xcformat.core.writer", "CoreWriter"),
    page_lookup=deferred("xcformat.core.lookup", "lookup"),
    capabilities=CAPABILITIES,
)
