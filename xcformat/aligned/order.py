"""The order of the parts of an aligned file, for the format reference (the declarations are
in :mod:`xcformat.aligned.schema`)."""

from ..schema import Part, Sample, stream_order
from .schema import SOURCE

ORDER = stream_order(
    "aligned",
    Part("file header", 4096, "file-header",
         doc="block 0: its first 32 bytes stop every legacy or v2 reader"),
    Part("IMAGE_HEADER record", "16 + length + padding to a multiple of 8",
         "record-ImageHeader", doc="the guest: type, widths, p2m size, where it came from"),
    Part("records", "16 + length + padding to a multiple of 8", "record-header",
         repeat="in the order the source had them",
         doc="one record type per format-neutral record: vCPU state, shared info, TSC, HVM "
             "context and params, toolstack and device-model data, opaque chunks"),
    Part("PAGE_BATCH records", "16 + 16 + count·entry_size [+ 8·count] + head_pad + "
         "4096·data_pages", "batch",
         repeat="among the records",
         doc="the entries, [a gmfn per entry], zeros up to the next 4096-byte boundary, then "
             "the pages: every page starts on a block boundary, so it moves with O_DIRECT "
             "straight from and into the caller's buffers"),
    Part("INDEX record", "16 + 16 + 8·leaf_count + 4096·leaf_count", "index",
         when="when compat feature bit 0 is set",
         doc="pfn to block number of the latest copy of each page"),
    Part("END record", "16 + zeros to a 4096 boundary + 48", "trailer",
         doc="the file ends on a block boundary, and its last 48 bytes are the trailer, "
             "which says where the index is"),
    title="File order", source=SOURCE,
    doc="Every integer is little-endian; every record starts on an 8-byte boundary, every "
        "page on a 4096-byte one.",
    sample=Sample(guest="pv", pages=32, convert=("--to", "aligned")))
