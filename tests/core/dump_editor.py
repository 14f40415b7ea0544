"""Byte-level surgery on a dump written by our writer (PV or HVM, libxc layout), for the
validator tests.  Offsets follow Xen's writer (xc_core.c; spec/core.md); nothing here uses xcformat."""

from __future__ import annotations

import struct

EHDR = {"ei_class": (4, "B"), "ei_data": (5, "B"), "ei_version": (6, "B"),
        "e_type": (16, "H"), "e_machine": (18, "H"), "e_version": (20, "I"),
        "e_phoff": (32, "Q"), "e_shoff": (40, "Q"), "e_ehsize": (52, "H"), "e_phnum": (56, "H"),
        "e_shentsize": (58, "H"), "e_shnum": (60, "H"), "e_shstrndx": (62, "H")}
SHDR = {"name": (0, "I"), "type": (4, "I"), "flags": (8, "Q"), "addr": (16, "Q"),
        "offset": (24, "Q"), "size": (32, "Q"), "link": (40, "I"), "info": (44, "I"),
        "addralign": (48, "Q"), "entsize": (56, "Q")}
NOTE_TYPES = {"none": 0x2000000, "header": 0x2000001, "xen_version": 0x2000002,
              "format_version": 0x2000003}


class Dump:
    def __init__(self, data: bytes):
        self.data = bytearray(data)

    # -- ELF -------------------------------------------------------------------------------
    def get(self, field):
        at, fmt = EHDR[field]
        return struct.unpack_from("<" + fmt, self.data, at)[0]

    def set(self, field, value):
        at, fmt = EHDR[field]
        struct.pack_into("<" + fmt, self.data, at, value)

    def index(self, name):
        for i in range(1, self.get("e_shnum")):
            if self.section_name(i) == name:
                return i
        raise KeyError(name)

    def section_name(self, i):
        strtab = self.shdr(self.get("e_shstrndx"))
        at = strtab["offset"] + self.shdr(i)["name"]
        return self.data[at:self.data.index(0, at)].decode()

    def shdr(self, i):
        base = self.get("e_shoff") + 64 * i
        return {k: struct.unpack_from("<" + f, self.data, base + at)[0]
                for k, (at, f) in SHDR.items()}

    def sset(self, name, field, value):
        i = self.index(name) if isinstance(name, str) else name
        at, fmt = SHDR[field]
        struct.pack_into("<" + fmt, self.data, self.get("e_shoff") + 64 * i + at, value)

    def section(self, name):
        h = self.shdr(self.index(name))
        return h["offset"], h["size"]

    def rename(self, old, new):
        """Overwrite a name in .shstrtab in place (``new`` no longer than ``old``)."""
        off, size = self.section(".shstrtab")
        table = self.data[off:off + size]
        at = table.index(old.encode() + b"\x00")
        self.data[off + at:off + at + len(old)] = new.encode().ljust(len(old), b"\x00")

    # -- notes -----------------------------------------------------------------------------
    def notes(self):
        off, size = self.section(".note.Xen")
        out, at = [], off
        while at < off + size:
            namesz, descsz, kind = struct.unpack_from("<III", self.data, at)
            out.append([kind, bytes(self.data[at + 16:at + 16 + descsz]), at])
            at += 16 + descsz
        return out

    def note_desc_offset(self, kind):
        return next(at for k, _, at in self.notes() if k == NOTE_TYPES[kind]) + 16

    def set_header_note(self, field, value):
        index = ("magic", "nr_vcpus", "nr_pages", "page_size").index(field)
        struct.pack_into("<Q", self.data, self.note_desc_offset("header") + 8 * index, value)

    def replace_notes(self, notes):
        """Put ``[(type, desc), ...]`` (or raw bytes) at the end of the file as .note.Xen."""
        blob = notes if isinstance(notes, bytes) else b"".join(
            struct.pack("<III", 4, len(desc), kind) + b"Xen\x00" + desc for kind, desc in notes)
        at = len(self.data)
        self.data += blob
        self.sset(".note.Xen", "offset", at)
        self.sset(".note.Xen", "size", len(blob))

    def add_section(self, name, offset, size, kind=1, entsize=0):
        """Move the header table and .shstrtab to the end with one more section."""
        old_off, old_size = self.section(".shstrtab")
        strtab = bytes(self.data[old_off:old_off + old_size]) + name.encode() + b"\x00"
        n = self.get("e_shnum")
        headers = bytearray(self.data[self.get("e_shoff"):self.get("e_shoff") + 64 * n])
        headers += struct.pack("<IIQQQQIIQQ", old_size, kind, 0, 0, offset, size, 0, 0, 8,
                               entsize)
        table_at = len(self.data)
        self.data += headers
        strtab_at = len(self.data)
        self.data += strtab
        self.set("e_shoff", table_at)
        self.set("e_shnum", n + 1)
        self.sset(self.get("e_shstrndx"), "offset", strtab_at)
        self.sset(self.get("e_shstrndx"), "size", len(strtab))

    # -- table -----------------------------------------------------------------------------
    def table_name(self):
        try:
            self.index(".xen_p2m")
            return ".xen_p2m"
        except KeyError:
            return ".xen_pfn"

    def entry_size(self):
        return 16 if self.table_name() == ".xen_p2m" else 8

    def entry(self, i):
        off, _ = self.section(self.table_name())
        n = self.entry_size() // 8
        return list(struct.unpack_from("<" + "Q" * n, self.data, off + i * self.entry_size()))

    def set_entry(self, i, *words):
        off, _ = self.section(self.table_name())
        struct.pack_into("<" + "Q" * len(words), self.data, off + i * self.entry_size(), *words)

    def page_offset(self, i):
        return self.section(".xen_pages")[0] + 4096 * i
