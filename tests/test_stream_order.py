"""The stream-order overview that opens each format's reference page: offsets where they are
fixed, "after" where they are not, one drawing, and a worked example from a real image."""

import re
import xml.etree.ElementTree as ET

import pytest

from xcformat import schema, specgen
from xcformat.refdoc import diagram, markdown, order, rst, worked
from xcformat.refdoc.page import build_pages
from xcformat.schema import Part, StreamOrder

TOY = StreamOrder("toy", "Stream order", (
    Part("wrapper", 48, when="in a wrapped file"),
    Part("header", 24, start=True),
    Part("domain header", 16),
    Part("records", "8 + length", repeat="until END"),
    Part("END", 8),
    Part("index", "16·n", offset="at the trailer's index_offset"),
), source="0123456789abcdef0123456789abcdef01234567:docs/toy.pandoc", doc="A toy stream.")


@pytest.fixture(scope="module")
def real():
    registry = specgen.load_registry()
    return registry, build_pages(registry)


def test_offsets_are_fixed_until_a_part_of_variable_size_or_presence_then_after_the_one_before():
    offsets = [row.offset for row in order.rows(TOY)]
    assert offsets == ["0x0", "0x0", "0x18", "0x28", "after records",
                       "at the trailer's index_offset"]
    assert order.counted_from(TOY) == "header"
    assert [row.presence for row in order.rows(TOY)] == [
        "in a wrapped file", "always", "always", "always; until END", "always", "always"]


def test_the_drawing_has_every_part_in_order_bytes_where_fixed_and_bands_elsewhere():
    rows = order.drawing(TOY)
    text = diagram.text_of_rows(rows)
    positions = [text.index(name) for name in ("[wrapper", "header", "domain header",
                                               "records: 8 + length …", "END: 8 bytes",
                                               "index: 16·n")]
    assert positions == sorted(positions)
    assert "+0x18   |" in text and "+0x28   ~" in text     # counted from the stream's start
    svg = ET.fromstring(diagram.svg_of_rows(rows, "toy"))
    assert svg.tag.endswith("svg")


def test_every_format_page_opens_with_its_stream_order(real):
    registry, pages = real
    assert {"legacy", "v2", "aligned", "core", "negotiate"} <= set(schema.ORDERS)
    for name, page in pages.items():
        if page.order is None:
            continue
        text = markdown.render(page, registry)
        assert text.index("## Stream order" if name in ("legacy", "v2") else
                          f"## {page.order.title}") < text.index("| Structure | Since | Size |")
        for row in order.rows(page.order):
            assert row.structure is None or row.structure in registry, row
        site = rst.render(page, registry)
        assert site.index(f".. _ref-{name}-stream-order:") < site.index("   * - Structure")
        assert site.count('<div class="xcformat-layout"><svg') == 1 + sum(
            1 for s in page.structures if s.fields)


def test_no_part_is_drawn_at_offset_zero_and_size_zero_any_more(real):
    registry, pages = real
    legacy = markdown.render(pages["legacy"], registry)
    assert "| 0x0 | 0 |" not in legacy and "0 bytes |" not in legacy
    assert "| after p2m_size | W/8 + 4 + tot |" in legacy


@pytest.mark.parametrize("fmt", ["v2", "aligned", "core"])
def test_the_fixed_offsets_declared_agree_with_the_regions_of_a_real_image(real, fmt):
    """Where the declaration says the fixed parts end, the reader finds the next structure."""
    declared = schema.ORDERS[fmt]
    regions = worked.regions(declared.sample)
    start = next(r.offset for r in regions if r.kind != "wrapper")
    fixed_end = 0
    for row, part in zip(order.rows(declared), declared.parts):
        if part.start:
            fixed_end = 0
        if re.fullmatch(r"0x[0-9a-f]+", row.offset) and part.fixed_size is not None:
            fixed_end = int(row.offset, 16) + part.size
        elif fixed_end:
            break
    assert fixed_end
    assert start + fixed_end in {r.offset for r in regions}


def test_the_worked_example_is_the_map_of_the_sample_image(real):
    registry, pages = real
    sample = pages["v2"].order.sample
    regions = worked.regions(sample)
    kinds = [r.kind for r in regions]
    assert kinds[:3] == ["wrapper", "wrapper", "wrapper"] and "page-data" in kinds
    assert all(b.offset >= a.offset + a.length for a, b in zip(regions, regions[1:]))
    text = markdown.render(pages["v2"], registry)
    assert f"| {regions[-1].offset:#x} | {regions[-1].length} | wrapper |" in text
    assert "xcformat convert IN OUT --to v2 --wrap xl" in worked.describe(sample)
