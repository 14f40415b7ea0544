"""Recognising dumps from their first bytes, and leaving other ELF cores alone."""

import struct

from coredump_builders import guest_records, write_dump
from old_dumps import build, format_a

from xcformat.core import sniff


def test_an_elf_dump_core_is_recognised_with_certainty(tmp_path):
    path = tmp_path / "d.core"
    write_dump(path, guest_records([0, 1]))
    verdict = sniff(path.read_bytes()[:65536])
    assert verdict.format == "core" and verdict.certain
    assert verdict.facts == {"elf_class": 64, "e_machine": 62}


def test_the_2007_elfclass32_dump_and_format_a_are_recognised():
    assert sniff(build([0], elf_class=32, machine=3, tools_bits=32, stride=2800)).certain
    verdict = sniff(format_a([1]))
    assert verdict.certain and verdict.facts["variant"] == "format-a"


def test_a_linux_core_with_program_headers_only_is_not_a_xen_dump():
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    linux = ident + struct.pack("<HHIQQQIHHHHHH", 4, 62, 1, 0, 64, 0, 0, 64, 56, 1, 64, 0, 0)
    assert sniff(linux + bytes(56)) is None


def test_an_elf_executable_and_random_bytes_are_not_dumps():
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    exe = ident + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0, 64, 0, 0, 64, 56, 1, 64, 0, 0)
    assert sniff(exe + bytes(56)) is None
    assert sniff(bytes(range(256))) is None
    assert sniff(b"\x7fELF") is None


def test_big_endian_dumps_reach_the_reader_and_are_rejected_by_check_number(tmp_path, capsys):
    from xcformat.cli import main

    swapped = struct.pack(">6I", 0xF00FEBED, 1, 1, 24, 24 + 5168, 8192) + bytes(8192)
    path = tmp_path / "be-a.core"
    path.write_bytes(swapped)
    assert main(["validate", str(path)]) == 1
    assert "#64" in capsys.readouterr().out
    elf = bytearray(build([0]))
    elf[5] = 2
    elf[16:18] = b"\x00\x04"
    path.write_bytes(elf)
    assert main(["validate", str(path)]) == 1
    assert "#3" in capsys.readouterr().out
