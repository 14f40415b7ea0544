"""Recognising a Xen core dump from its first bytes: ELF dump-core or the pre-ELF format A."""

from __future__ import annotations

from construct import ConstructError

from .. import codec
from ..formats import Sniffed
from . import schema as s
from .elf import structs


#: The ELF header up to e_type: the same bytes in both classes.
_ELF_TYPE = codec.head(s.elf64_header, "e_type")


def _swapped(value: int, size: int) -> int:
    """What a little-endian read of ``value`` stored big-endian in ``size`` bytes gives."""
    return sum(((value >> 8 * i) & 0xFF) << 8 * (size - 1 - i) for i in range(size))


_SWAPPED_MAGICS = frozenset(_swapped(magic, 4) for magic in s.MAGICS)


def sniff(head: bytes) -> Sniffed | None:
    """A verdict on ``head`` (the first bytes of a file): ELF dump-core, format A, or None."""
    if head[:4] == s.ELF_MAGIC:
        return _sniff_elf(head)
    if len(head) >= 24:
        return _sniff_format_a(head)
    return None


def _sniff_elf(head: bytes) -> Sniffed | None:
    if len(head) < 52 or head[4] not in (s.ELFCLASS32, s.ELFCLASS64):
        return None
    if head[5] == s.ELFDATA2MSB and _ELF_TYPE.parse(head).e_type == _swapped(s.ET_CORE, 2):
        # No Xen writer was big-endian: let the reader reject it by name (check #3).
        return Sniffed("core", False, "big-endian ELF core file", {"elf_class": head[4] * 32})
    if head[5] != s.ELFDATA2LSB:
        return None
    bits = 64 if head[4] == s.ELFCLASS64 else 32
    ehdr_struct, shdr_struct = structs(bits)
    try:
        ehdr = ehdr_struct.parse(head)
    except ConstructError:
        return None
    if ehdr.e_type != s.ET_CORE:
        return None
    facts = {"elf_class": bits, "e_machine": ehdr.e_machine}
    step = shdr_struct.sizeof()
    for i in range(min(ehdr.e_shnum, 64)):
        at = ehdr.e_shoff + i * step
        if at + step > len(head):
            break
        shdr = shdr_struct.parse(head[at:at + step])
        size = s.note_header.sizeof()
        note = head[shdr.sh_offset:shdr.sh_offset + size] if shdr.sh_type == s.SHT_NOTE else b""
        if len(note) == size and s.note_header.parse(note).name == s.NOTE_NAME and \
                s.note_header.parse(note).type == s.NOTE_NONE:
            return Sniffed("core", True, "ELF core with a Xen DUMPCORE_NONE note", facts)
    if ehdr.e_shnum == 0:
        return None   # a Linux or QEMU core (program headers only), not a Xen dump-core
    return Sniffed("core", False, "ELF core file; its Xen notes lie beyond the sniffed bytes",
                   facts)


def _sniff_format_a(head: bytes) -> Sniffed | None:
    header = s.format_a_header.parse(head[:24])
    if header.xch_magic in _SWAPPED_MAGICS and header.xch_ctxt_offset == _swapped(24, 4):
        # Byte-swapped: no big-endian writer existed; the reader rejects it (check #64).
        return Sniffed("core", True, "byte-swapped xc_core header", {"variant": "format-a"})
    if header.xch_magic not in s.MAGICS or header.xch_ctxt_offset != 24:
        return None
    if header.xch_nr_vcpus == 0 or header.xch_index_offset <= 24 or \
            header.xch_pages_offset % 4096:
        return None
    guest = "hvm" if header.xch_magic == s.MAGIC_HVM else "pv"
    return Sniffed("core", True, "pre-ELF xc_core header (format A)",
                   {"variant": "format-a", "guest": guest})
