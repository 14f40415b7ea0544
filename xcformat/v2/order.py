"""The order of the parts of a v2 stream, for the format reference (Xen's
``docs/specs/libxc-migration-stream.pandoc`` and ``libxl-migration-stream.pandoc``, written by
``tools/libs/guest/xg_sr_save.c`` and ``tools/libs/light/libxl_stream_write.c``)."""

from ..schema import Part, Sample, stream_order
from .schema import XEN

ORDER = stream_order(
    "v2",
    Part("xl save-file header", 48, "xl-header", when="in an xl save file",
         doc="mandatory flag bit 1 (STREAMv2) says a v2 stream follows"),
    Part("xl optional data", "optional_data_length", "xl-config", when="in an xl save file",
         doc="the domain configuration (JSON)"),
    Part("libxl stream header", 16, "libxl-header", when="in a libxl stream (xl save, "
         "xl migrate)", doc="\"LibxlFmt\", version 2, options"),
    Part("libxl LIBXC_CONTEXT record header", 8, "record-header", when="in a libxl stream",
         doc="type 1, length 0: the libxc stream follows it"),
    Part("image header", 24, "image-header", start=True,
         doc="the marker, \"XENF\", version 2 or 3 (Xen 4.14 and later write 3); big-endian"),
    Part("domain header", 16, "domain-header", doc="x86 PV or HVM, guest page shift, Xen "
         "version"),
    Part("records", "8 + length + padding to a multiple of 8", "record-header",
         repeat="until END",
         doc="a record header (u32 type, u32 length), the body, then zeros to an 8-byte "
             "boundary. x86 PV: X86_PV_INFO, [CPUID and MSR policy], STATIC_DATA_END (v3), "
             "X86_PV_P2M_FRAMES, PAGE_DATA (each up to 1024 pages), X86_TSC_INFO, SHARED_INFO, "
             "the vCPU records. x86 HVM: [policies], STATIC_DATA_END (v3), PAGE_DATA, "
             "X86_TSC_INFO, HVM_CONTEXT, HVM_PARAMS"),
    Part("END record", 8, "record-header", doc="type 0, length 0"),
    Part("libxl records", "8 + length + padding each", "record-header",
         when="in a libxl stream", repeat="until the libxl END record",
         doc="HVM: EMULATOR_XENSTORE_DATA and EMULATOR_CONTEXT (the device model's state); "
             "checkpointed streams also CHECKPOINT_END and CHECKPOINT_STATE"),
    title="Stream order", source=f"{XEN}:docs/specs/libxc-migration-stream.pandoc",
    doc="Every part after the image header is little-endian (the stream's byte order, x86's) "
        "and starts on an 8-byte boundary; the image header is the first byte of the libxc "
        "stream.",
    sample=Sample(guest="pv", pages=32, convert=("--to", "v2", "--wrap", "xl", "--drop",
                                                 "unmapped-pfns")))
