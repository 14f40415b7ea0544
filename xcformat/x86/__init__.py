"""x86 guest structures that Xen save images and core dumps copy verbatim from the hypervisor.

Shared by every format: the PV ``vcpu_guest_context`` (x86_32 and x86_64 layouts), the 128-byte
extended vCPU context, the guest-width ``shared_info`` page, and the HVM context blob.  Each is a
declarative construct definition registered under the format name ``"x86"`` for the reference.
"""

from .hvm_context import HvmContextSummary, check_hvm_context, iter_hvm_records
from .fields import field_offset, field_value, set_field
from .shared_info import SHARED_INFO_ARCH_OFFSET, shared_info_arch
from .vcpu import EXT_VCPU_CONTEXT, EXT_VCPU_CONTEXT_SIZE, EXT_VCPU_MIN_SIZE, VGC_SIZE, XSAVE_STATE, \
    guest_bits_of_context, vcpu_guest_context

__all__ = ["EXT_VCPU_CONTEXT", "EXT_VCPU_CONTEXT_SIZE", "EXT_VCPU_MIN_SIZE", "HvmContextSummary",
           "SHARED_INFO_ARCH_OFFSET", "VGC_SIZE", "XSAVE_STATE", "check_hvm_context", "field_offset",
           "field_value", "guest_bits_of_context", "iter_hvm_records", "set_field",
           "shared_info_arch", "vcpu_guest_context"]

# Register both guest widths now, so the reference does not depend on which a run happened to use.
for _bits in (32, 64):
    vcpu_guest_context(_bits)
    shared_info_arch(_bits)
