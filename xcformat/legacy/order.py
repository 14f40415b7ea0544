"""The order of the parts of a legacy save stream, for the format reference (Xen 4.5's
``xc_domain_save()``, ``tools/libxc/xc_domain_save.c``; the wrappers from ``xl_cmdimpl.c`` and
``XendCheckpoint.py``)."""

from ..schema import Part, Sample, stream_order
from .schema import SAVE_450

ORDER = stream_order(
    "legacy",
    Part("xl save-file header", 48, "xl_header", when="in an xl save file (4.1 to 4.5)"),
    Part("xl optional data", "optional_data_length", "xl_config",
         when="in an xl save file (4.1 to 4.5)",
         doc="the domain configuration, as a u32 length then the text"),
    Part("xend save-file header", "20 + config_length", "xend_header",
         when="in an xend save file (3.0 to 4.4)", offset="0x0",
         doc="the only big-endian length of the format"),
    Part("p2m_size", "W/8: 4 or 8", "header_w64", start=True,
         doc="a bare unsigned long of the toolstack's width W: no magic, no version, so the "
             "reader is told PV or HVM and W, or works them out (see `xcformat info`)"),
    Part("extended-info header and blocks", "W/8 + 4 + tot", "ext_info_header_w64",
         when="PV (3.0.3 PAE guests; every PV guest since 3.2)",
         doc="an all-ones word, the blocks' total size tot, then the blocks: vcpu (tells the "
             "guest width G by its size), extv, xcnt"),
    Part("p2m frame list", "W/8 × ceil(p2m_size ÷ (4096 ÷ G/8))", "p2m_frame_list_w64",
         when="PV", doc="the pfns of the pages that hold the guest's p2m table"),
    Part("page batches and chunks", "4 + W/8·n + 4096·d a batch; a chunk by its id",
         "batch_header_w64", repeat="any order, until a count of 0",
         doc="a batch is an i32 count n of (type << 28 | pfn) entries, then the d pages of the "
             "entries whose type carries data; a negative i32 is a chunk id (its payload has no "
             "length: the id tells it), e.g. -2 VCPU_INFO, -7 TSC_INFO, -18 TOOLSTACK"),
    Part("end of the body", 4, doc="an i32 0"),
    Part("PV tail: unmapped pfns", "4 + W/8·count", "unmapped_pfns_w64", when="PV",
         doc="the pfns that had no page when the save ended"),
    Part("PV tail: vCPU state", "2800 or 5168 (G), + 128 (extv), + 16 + xsave size (xcnt)",
         "x86/vcpu_guest_context_64", when="PV", repeat="once per online vCPU",
         doc="the vcpu_guest_context of the guest's width, its extended context and its xsave "
             "record"),
    Part("PV tail: shared-info page", 4096, "x86/shared_info_64", when="PV"),
    Part("HVM tail", "28 + context_length", "hvm_tail", when="HVM",
         doc="three HVM params (ioreq, bufioreq, store pfns), then the HVM context blob that "
             "holds the vCPUs"),
    Part("device-model state", "to the end of the file", "qemu_libxl", when="HVM",
         doc="qemu's state behind a signature: libxl's DeviceModelRecord0002, xend's "
             "QemuDeviceModelRecord, or Remus' RemusDeviceModelState"),
    Part("more checkpoints", "as above", when="Remus (checkpointed) streams",
         repeat="body and tail again, until the connection closes",
         doc="such streams have no -9 LAST_CHECKPOINT chunk"),
    title="Stream order", source=SAVE_450,
    doc="PV and HVM streams share the start and the body; the tail differs. Only W (the "
        "toolstack's word width) and G (the guest's) change sizes; every other integer is "
        "fixed-width and little-endian. No part is padded: page data lands wherever the parts "
        "before it end.",
    sample=Sample(guest="pv", pages=32, wrapper="xl"))
