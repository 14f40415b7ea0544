"""xcformat: Xen save/restore streams and core dumps, specified, read, written, converted."""

__version__ = "0.1.0"
