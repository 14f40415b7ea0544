"""A real Xen in a QEMU virtual machine: Debian's hypervisor, dom0 and a small checkable guest."""
