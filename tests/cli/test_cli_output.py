"""Human output an operator reads at a glance, and the JSON beside it."""

from __future__ import annotations

import json

import pytest

from tests.integration.cli_runner import xcformat
from xcformat.cli.human import columns, size, table
from xcformat.cli.page import hexdump
from xcformat.synth import GuestSpec, write_legacy


@pytest.fixture(scope="module")
def hvm(tmp_path_factory):
    """A 2-vCPU HVM guest of 2000 pages, as legacy, and converted to v2 --align and to core."""
    where = tmp_path_factory.mktemp("hvm")
    legacy = where / "hvm.img"
    write_legacy(GuestSpec(guest="hvm", pages=2000, vcpus=2), str(legacy))
    out = {"legacy": legacy}
    for name, target in (("v2", ["v2", "--align", "--wrap", "libxl"]), ("core", ["core"]),
                         ("aligned", ["aligned"])):
        out[name] = where / f"hvm.{name}"
        assert xcformat("convert", legacy, out[name], "--to", *target, "-q").code == 0
    return out


def test_sizes_columns_and_tables():
    assert size(4125916) == "3.9 MiB (4125916 bytes)" and size(512) == "512 B"
    assert size(4 << 30, exact=False) == "4 GiB"
    text = columns([("a", 1), ("longer_key", None), ("flag", True)]).splitlines()
    assert [line.index(v) for line, v in zip(text, ("1", "-", "yes"))] == [12, 12, 12]
    assert table(["", "rip"], [["0", "0x1"], ["10", "0x22"]]) == ["    rip", "0   0x1",
                                                                 "10  0x22"]


@pytest.mark.parametrize("name", ["legacy", "v2", "aligned", "core"])
def test_hvm_vcpus_are_counted_in_every_format(hvm, name):
    facts = json.loads(xcformat("info", hvm[name], "--json").stdout)
    assert facts["guest"] == "hvm" and facts["vcpus"] == 2


def test_info_names_the_machine_and_shows_registers_as_a_table(hvm):
    result = xcformat("info", hvm["core"])
    assert result.code == 0
    lines = result.stdout.splitlines()
    values = {line.split(":", 1)[0]: line for line in lines if ":" in line[:20]}
    assert values["e_machine"].split()[-1] == "x86_64"
    assert "MiB (" in values["size"]
    # one value column for every key
    starts = {len(line) - len(line.split(":", 1)[1].lstrip()) for key, line in values.items()
              if key != "registers"}
    assert len(starts) == 1
    at = lines.index(values["registers"])
    assert "{" not in values["registers"] and values["registers"].split()[1:3] == ["rip", "rsp"]
    assert [lines[at + 1].split()[0], lines[at + 2].split()[0]] == ["0", "1"]


def test_info_json_on_a_damaged_image_holds_what_was_read_and_the_error(hvm, tmp_path):
    cut = tmp_path / "cut.img"
    cut.write_bytes(hvm["legacy"].read_bytes()[:6 << 20])
    result = xcformat("info", cut, "--json")
    assert result.code == 1
    facts = json.loads(result.stdout)
    assert facts["format"] == "legacy" and facts["guest"] == "hvm"
    assert 0 < facts["batches"] and facts["pages"] < 2000
    assert "input ends" in facts["error"] and str(cut) in result.stderr


def test_map_explains_pages_beyond_the_guests(hvm):
    result = xcformat("map", hvm["v2"])
    last = result.stdout.splitlines()[-1]
    mapped = json.loads(xcformat("map", hvm["v2"], "--json").stdout)["guest_pages"]
    assert mapped["distinct"] == 2000 and mapped["copies"] > 0
    assert mapped["in_page_data"] == mapped["distinct"] + mapped["copies"] \
        + mapped["not_guest_pages"]
    assert last.startswith(f"pages: {mapped['in_page_data']} in page data = 2000 distinct guest "
                           f"pages + {mapped['copies']} copies")
    plain = xcformat("map", hvm["aligned"]).stdout.splitlines()[-1]
    assert plain.startswith("page data:")        # nothing to explain


def test_hexdump_is_hexdump_minus_c():
    data = b"Hello, world!\n" + bytes(2) + bytes(64) + b"\x7fABC" + bytes(12)
    assert hexdump(data, 0x10000) == [
        "00010000  48 65 6c 6c 6f 2c 20 77  6f 72 6c 64 21 0a 00 00  |Hello, world!...|",
        "00010010  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|",
        "*",
        "00010050  7f 41 42 43 00 00 00 00  00 00 00 00 00 00 00 00  |.ABC............|",
        "00010060",
    ]


def test_page_takes_a_range_in_order_and_refuses_a_hole(hvm, tmp_path):
    out = tmp_path / "pages.bin"
    assert xcformat("page", hvm["aligned"], "--pfn", "0x10-0x13", "-o", out, "-q").code == 0
    one = tmp_path / "one.bin"
    for n, pfn in enumerate(range(0x10, 0x14)):
        assert xcformat("page", hvm["legacy"], "--pfn", hex(pfn), "-o", one, "-q").code == 0
        assert out.read_bytes()[n * 4096:(n + 1) * 4096] == one.read_bytes()
    dump = xcformat("page", hvm["aligned"], "--pfn", "0x10-0x11", "--hex", "-q").stdout
    assert dump.splitlines()[0].startswith("00010000  ") and "|" in dump
    assert dump.splitlines()[-1] == "00012000"
    # the VGA hole of an HVM guest has no data
    hole = xcformat("page", hvm["aligned"], "--pfn", "0x9f-0xa0", "-o", tmp_path / "h.bin")
    assert hole.code == 1 and "no data for pfn 0xa0" in hole.stderr
    assert not (tmp_path / "h.bin").exists()
    listed = json.loads(xcformat("page", hvm["aligned"], "--pfn", "0x9f-0xa0", "--json").stdout)
    assert [p["pfn"] for p in listed["pages"]] == [0x9f, 0xa0]
    assert len(bytes.fromhex(listed["pages"][0]["data"])) == 4096
    assert listed["pages"][1]["data"] is None and "0xa0" in listed["error"]
