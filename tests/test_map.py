"""``xcformat map`` and the layout map behind it, on real files of a test-only format."""

import json
import tracemalloc
import xml.etree.ElementTree as ET

import pytest

from tests import toyformat
from tests.toyformat import toy_format  # noqa: F401 (fixture)
from xcformat.cli import main
from xcformat.regions import Region
from xcformat.layoutmap import LayoutMap

PAGE = 4096


def page_data_offsets(pages_per_batch, aligned):
    """Where the toy layout puts each batch's pages, computed here from the layout rules."""
    offset, out = 16, []
    for count in pages_per_batch:
        offset += 4 + 8 * count
        if aligned:
            offset += -offset % PAGE
        out.append(offset)
        offset += PAGE * count
    return out


def run_map(tmp_path, capsys, pages, aligned, *extra):
    path = tmp_path / "toy.img"
    path.write_bytes(toyformat.build(pages, aligned))
    code = main(["map", str(path), *extra])
    return code, capsys.readouterr()


def test_text_map_lists_each_region_with_its_block_and_marks_misaligned_page_data(
        toy_format, tmp_path, capsys):
    code, out = run_map(tmp_path, capsys, [3, 1, 2], False)
    assert code == 0
    lines = out.out.splitlines()
    offsets = page_data_offsets([3, 1, 2], False)
    first = next(line for line in lines if "batch 0 pages" in line)
    assert f"{offsets[0]:#x}" in first and f"[MISALIGNED +{offsets[0] % PAGE:#x}]" in first
    assert "0+0x10" in next(line for line in lines if "batch 0 (3 pages)" in line)
    assert "page data: 3 regions, 0 start on a block boundary; 0 of 6 pages aligned" in out.out
    # one character per 64 bytes; a structure shows even where it shares a cell with pages
    assert "  block  0 |HPPPPP" in out.out
    assert "  block  3 |BPPPPP" in out.out and "  block  6 |PX " in out.out
    assert "B batch-header, P page-data, X trailer" in out.out


def test_aligned_layout_shows_padding_and_every_page_aligned(toy_format, tmp_path, capsys):
    code, out = run_map(tmp_path, capsys, [3, 1, 2], True, "--json")
    data = json.loads(out.out)
    page_regions = [r for r in data["regions"] if r["kind"] == "page-data"]
    assert [r["offset"] for r in page_regions] == page_data_offsets([3, 1, 2], True)
    assert all(r["aligned"] for r in page_regions)
    assert data["summary"]["page_data"] == {"regions": 3, "aligned": 3, "misaligned": 0,
                                            "pages": 6, "pages_aligned": 6}
    assert data["summary"]["unaccounted"]["gap_bytes"] == 0
    kinds = [r["kind"] for r in data["regions"]]
    assert kinds[:4] == ["header", "batch-header", "padding", "page-data"]
    assert kinds[-1] == "trailer"
    # the regions tile the file exactly
    assert all(a["offset"] + a["length"] == b["offset"]
               for a, b in zip(data["regions"], data["regions"][1:]))
    assert data["regions"][-1]["offset"] + data["regions"][-1]["length"] == data["size"]


def test_long_runs_of_alike_batches_fold_into_one_entry_with_alignment_statistics(
        toy_format, tmp_path, capsys):
    pages = [1] * 300
    code, out = run_map(tmp_path, capsys, pages, False, "--json")
    data = json.loads(out.out)
    assert len(data["regions"]) < 15
    (repeat,) = [r for r in data["regions"] if r["kind"] == "repeat"]
    assert repeat["count"] == 296 and repeat["run_units"] == 300
    skews = [o % PAGE for o in page_data_offsets(pages, False)]
    page_part = repeat["parts"][1]
    assert page_part["kind"] == "page-data"
    assert page_part["aligned"] == skews.count(0)
    assert page_part["min_misalignment"] == min(s for s in skews if s)
    assert page_part["max_misalignment"] == max(skews)
    # the kept head and tail units are real regions, and the fold spans what lies between
    shown = [r for r in data["regions"] if r["kind"] == "page-data"]
    assert [r["label"] for r in shown] == ["batch 0 pages", "batch 1 pages", "batch 298 pages",
                                          "batch 299 pages"]
    assert repeat["offset"] + repeat["length"] == [r for r in data["regions"]
                                                   if r["label"] == "batch 298 (1 pages)"][0]["offset"]

    main(["map", str(tmp_path / "toy.img")])
    text = capsys.readouterr().out
    assert "296 more like these: batch-header 12 B + page-data 4 KiB" in text


def test_json_all_lists_every_region(toy_format, tmp_path, capsys):
    code, out = run_map(tmp_path, capsys, [1] * 50, True, "--json", "--all")
    data = json.loads(out.out)
    assert code == 0 and len(data["regions"]) == 1 + 50 * 3 + 1
    assert data["summary"]["page_data"]["aligned"] == 50


def test_svg_outlines_aligned_page_data_solid_and_misaligned_dashed(toy_format, tmp_path, capsys):
    from xcformat.layoutmap.svg import ALIGNED_OUTLINE, MISALIGNED_OUTLINE

    for aligned, colour, dashes in ((True, ALIGNED_OUTLINE, 0), (False, MISALIGNED_OUTLINE, 2)):
        svg_path = tmp_path / f"map-{aligned}.svg"
        code, _ = run_map(tmp_path, capsys, [2, 2], aligned, "--svg", str(svg_path))
        root = ET.fromstring(svg_path.read_text())
        rects = list(root.iter("{http://www.w3.org/2000/svg}rect"))
        assert [r.get("stroke") for r in rects].count(colour) == 2 and code == 0
        assert sum(1 for r in rects if r.get("stroke-dasharray")) == dashes


def test_at_names_the_structure_holding_an_offset(toy_format, tmp_path, capsys):
    offset = page_data_offsets([3, 1], False)[1] + 5
    code, out = run_map(tmp_path, capsys, [3, 1], False, "--at", hex(offset))
    assert out.out.strip() == (f"{offset:#x}: page-data 'batch 1 pages', byte 0x5 of 4096 from "
                               f"{offset - 5:#x} (page 0 of the run, byte 0x5 of it)  "
                               f"[MISALIGNED +{(offset - 5) % PAGE:#x}]")


def test_at_stops_reading_once_it_has_the_answer(toy_format, tmp_path, capsys):
    path = tmp_path / "toy.img"
    image = toyformat.build([1] * 200, False)
    path.write_bytes(image[:-20000])          # damaged far beyond the offset asked about
    assert main(["map", str(path), "--at", "20"]) == 0
    assert capsys.readouterr().out.startswith("0x14: batch-header 'batch 0 (1 pages)'")


def test_a_truncated_image_maps_what_precedes_the_damage_and_exits_1(toy_format, tmp_path,
                                                                    capsys):
    path = tmp_path / "toy.img"
    path.write_bytes(toyformat.build([2, 2, 2], False)[:-5000])
    code = main(["map", str(path), "--json"])
    out = capsys.readouterr()
    data = json.loads(out.out)
    assert code == 1
    assert [r["label"] for r in data["regions"] if r["kind"] == "page-data"] == \
        ["batch 0 pages", "batch 1 pages"]
    assert "batch 2.pages" in data["error"] and "batch 2.pages" in out.err


def test_memory_stays_constant_over_many_regions():
    def feed(layout, batches):
        offset = 0
        for n in range(batches):
            layout.add(Region(offset, 8196, "batch-header", f"batch {n} (1024 entries)"))
            offset += 8196
            layout.add(Region(offset, 4 << 20, "page-data", f"batch {n} pages"))
            offset += 4 << 20
        return layout.finish(offset)

    feed(LayoutMap(), 1000)          # warm up imports and caches
    tracemalloc.start()
    layout = feed(LayoutMap(), 20_000)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 256 << 10
    assert len(layout.runs) == 1 and layout.runs[0].count == 20_000
    assert layout.summary.pages == 20_000 * 1024


def test_alternating_shapes_beyond_the_entry_limit_are_counted_not_listed():
    layout = LayoutMap(max_entries=10)
    offset = 0
    for n in range(100):
        kind, label = ("chunk", f"chunk -{n % 2 + 1} A") if n % 2 else ("tail", "B")
        layout.add(Region(offset, 10, kind, label))
        offset += 10
    layout.finish(offset)
    assert len(layout.runs) == 10 and layout.not_itemised["runs"] == 90
    assert layout.summary_json()["not_itemised"] == {"runs": 90, "bytes": 900}


def test_gaps_overlaps_and_trailing_bytes_are_reported():
    layout = LayoutMap()
    layout.add(Region(0, 10, "header", "h"))
    layout.add(Region(20, 10, "chunk", "c"))
    layout.add(Region(25, 10, "chunk", "d"))
    layout.finish(100)
    unaccounted = layout.summary_json()["unaccounted"]
    assert unaccounted == {"gaps": [{"offset": 10, "length": 10}], "gap_bytes": 10,
                           "overlaps": 1, "trailing_bytes": 65}


def test_regions_reported_out_of_file_order_are_put_back_in_order():
    seen = []
    layout = LayoutMap(listener=seen.append)
    # as an ELF reader reports them: headers, then sections found through the headers
    for offset, length, kind in ((0, 64, "header"), (64, 448, "header"), (8192, 100, "section"),
                                 (512, 3584, "section"), (4096, 4096, "page-data")):
        layout.add(Region(offset, length, kind, kind))
    layout.finish(8292)
    assert [r.offset for r in seen] == [0, 64, 512, 4096, 8192]
    assert [r.offset for what, r in layout.entries()] == [0, 64, 512, 4096, 8192]
    assert layout.summary_json()["unaccounted"]["overlaps"] == 0
    assert layout.summary_json()["unaccounted"]["gap_bytes"] == 0


def test_an_unrecognised_file_is_an_error_line_or_json_saying_so(tmp_path, capsys):
    path = tmp_path / "junk"
    path.write_bytes(b"NOTANIMAGE" * 20)
    assert main(["map", str(path)]) == 1
    out = capsys.readouterr()
    assert out.out == "" and "not an image xcformat knows" in out.err and "magic" in out.err
    assert main(["map", str(path), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["format"] is None and data["regions"] == [] and "magic" in data["error"]


def test_a_repeating_group_of_regions_folds_per_group():
    layout = LayoutMap()
    offset = 0

    def add(length, kind, label):
        nonlocal offset
        layout.add(Region(offset, length, kind, label))
        offset += length

    add(8, "tail", "3 unmapped pfns")
    for vcpu in range(40):
        add(5168, "tail", f"vCPU {vcpu} context")
        add(128, "tail", f"vCPU {vcpu} extended context")
    add(4096, "tail", "shared-info page")
    layout.finish(offset)
    folds = [item for what, item in layout.entries() if what == "fold"]
    # units: [unmapped, vCPU 0 ...], [vCPU 1 ...] ... [vCPU 38 ...], [vCPU 39 ..., shared info]
    assert len(folds) == 1 and folds[0].count == 38 and folds[0].folded == 34
    assert [p.label for p in folds[0].parts] == ["vCPU # context", "vCPU # extended context"]
    assert sum(1 for what, _ in layout.entries() if what == "region") == 3 + 4 * 2 + 3


def test_a_unit_never_grows_past_its_bound_whatever_the_labels():
    layout = LayoutMap()
    for n in range(1000):
        layout.add(Region(n, 1, "chunk", f"chunk {chr(65 + n % 26) * (1 + n // 26)}"))
    layout.finish(1000)
    assert max(len(unit) for run in layout.runs for unit in run.head + run.tail) <= 64
