"""The SVG layout map: a legend of every kind in the image, colours told apart also by colour-
blind readers, and labels shown whole."""

import itertools
import math
import xml.etree.ElementTree as ET

from xcformat.regions import KINDS, Region
from xcformat.layoutmap import LayoutMap
from xcformat.layoutmap.svg import CHAR_PX, COLOURS, render

SVG = "{http://www.w3.org/2000/svg}"
LONG = "record X86_PV_VCPU_BASIC of vCPU 4095, with a label longer than any column allowed"


def image_map() -> LayoutMap:
    """Header and pages in the first blocks; a tail, an index and a trailer only far beyond
    the eight blocks the picture shows."""
    layout = LayoutMap()
    layout.add(Region(0, 64, "header", "image header"))
    layout.add(Region(64, 4032, "padding", "alignment padding"))
    layout.add(Region(4096, 64 * 4096, "page-data", "64 pages"))
    end = 65 * 4096
    for offset, length, kind, label in ((end, 5168, "tail", LONG), (end + 5168, 4096, "index", "pfn index"),
                                        (end + 9264, 48, "trailer", "trailer")):
        layout.add(Region(offset, length, kind, label))
    return layout.finish(end + 9312)


def texts(svg: str) -> list[str]:
    return [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]


def test_the_legend_names_every_kind_of_the_image_not_only_those_of_the_first_blocks():
    layout = image_map()
    assert "tail" not in layout.head and "index" not in layout.head
    svg = render(layout, "image")
    legend = [t for t in texts(svg) if t in KINDS]
    assert legend == ["header", "padding", "page-data", "tail", "index", "trailer"]


def test_labels_and_title_are_drawn_whole_and_fit_the_picture():
    title = "/a/rather/long/path/to/" + "x" * 120 + ".img (legacy)"
    svg = render(image_map(), title)
    root = ET.fromstring(svg)
    width = float(root.get("width"))
    drawn = {t.text: float(t.get("x")) for t in root.iter(f"{SVG}text")}
    assert f"tail: {LONG}" in drawn and title in drawn
    for text, x in drawn.items():
        assert x + len(text) * CHAR_PX <= width, text
    # the label column ends before the block strip starts
    strip = min(float(line.get("x1")) for line in root.iter(f"{SVG}line"))
    assert drawn[f"tail: {LONG}"] + len(f"tail: {LONG}") * 7.2 < strip


# -- colours: CIE L*a*b* distance, for normal vision and simulated protanopia and deuteranopia
# (Viénot, Brettel and Mollon 1999, in linear RGB) --------------------------------------------
DICHROMATS = {"protanopia": ((0.11238, 0.88762, 0), (0.11238, 0.88762, 0), (0.00401, -0.00401, 1)),
              "deuteranopia": ((0.29275, 0.70725, 0), (0.29275, 0.70725, 0),
                               (-0.02234, 0.02234, 1))}


def _linear(colour: str) -> list[float]:
    values = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    return [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in values]


def _lab(rgb) -> tuple[float, float, float]:
    r, g, b = rgb
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883
    f = [t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in (x, y, z)]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def _seen(colour: str, matrix=None):
    rgb = _linear(colour)
    if matrix is not None:
        rgb = [min(1, max(0, sum(m * c for m, c in zip(row, rgb)))) for row in matrix]
    return _lab(rgb)


def closest_pair(palette: dict[str, str], matrix=None) -> float:
    seen = {kind: _seen(colour, matrix) for kind, colour in palette.items()}
    return min(math.dist(seen[a], seen[b]) for a, b in itertools.combinations(seen, 2))


def test_every_kind_has_its_own_colour_distinct_also_to_colour_blind_readers():
    assert set(COLOURS) == set(KINDS)
    assert len(set(COLOURS.values())) == len(COLOURS)
    for matrix in (None, *DICHROMATS.values()):
        assert closest_pair(COLOURS, matrix) > 15
    # the check would have caught the old palette's near-identical header and section blues
    assert closest_pair({"header": "#8fb8de", "section": "#9dc3e6"}) < 5
