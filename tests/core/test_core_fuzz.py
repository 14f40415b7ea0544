"""Mutated and truncated dumps raise only the project's own errors (never a crash, never a hang)."""

from __future__ import annotations

import os
import struct
import tempfile

from coredump_builders import guest_records, write_dump
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from old_dumps import build, format_a

from xcformat.core.reader import reader_for
from xcformat.errors import XcFormatError
from xcformat.io import open_source
from xcformat.records import GuestType


def _seeds():
    with tempfile.TemporaryDirectory() as tmp:
        out = []
        for guest in GuestType:
            path = os.path.join(tmp, "seed")
            write_dump(path, guest_records([0, 1, 2, 9], guest=guest, vcpus=1))
            out.append(open(path, "rb").read())
    out.append(build([0, 3], elf_class=32, machine=3, tools_bits=32, stride=2800,
                     table_first=True))
    out.append(format_a([1, 2]))
    return out


SEEDS = _seeds()


#: ELF64 fields worth hitting with structured values: e_machine, e_shnum, and each section
#: header's sh_offset, sh_size and sh_entsize (headers start at 64, 64 bytes each).
FIELDS = [(18, "<H"), (60, "<H")] + [(64 + 64 * i + at, "<Q") for i in range(1, 7)
                                      for at in (24, 32, 56)]
VALUES = st.sampled_from([0, 1, 3, 40, 62, 352, 2800, 4096, 5168, 1 << 32, (1 << 63) + 8,
                          (1 << 64) - 1]) | st.integers(0, 1 << 20)


@st.composite
def mutated(draw):
    data = bytearray(draw(st.sampled_from(SEEDS)))
    if data[:4] == b"\x7fELF" and data[4] == 2 and draw(st.booleans()):
        at, fmt = draw(st.sampled_from(FIELDS))
        value = draw(VALUES) & ((1 << (8 * struct.calcsize(fmt))) - 1)
        struct.pack_into(fmt, data, at, value)
    for _ in range(draw(st.integers(0, 6))):
        # Most structure lies in the first 2 KiB and the last 200 bytes (table, names).
        region = draw(st.sampled_from(["head", "tail", "any"]))
        lo, hi = {"head": (0, min(2048, len(data))), "tail": (max(0, len(data) - 200),
                                                              len(data)),
                  "any": (0, len(data))}[region]
        at = draw(st.integers(lo, hi - 1))
        data[at] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        del data[draw(st.integers(0, len(data))):]
    return bytes(data)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_dumps_raise_only_xcformat_errors(data):
    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        with open_source(f.name) as source:
            try:
                r = reader_for(source)
                for _ in r.records():
                    pass
                r.summary()
                dump = getattr(r, "open", None)
                if dump is not None:
                    d = dump()
                    d.page(1)
                    d.page_by_gmfn(1)
                    if d.nr_vcpus:
                        d.context(0)
                        d.registers(0)
            except XcFormatError:
                pass
