"""The format reference generator, on small structures declared here, and on the real schemas."""

import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import construct as c
import pytest
from construct import this
from hypothesis import given, settings
from hypothesis import strategies as st

from xcformat import schema, specgen
from xcformat.refdoc import diagram, markdown, rst
from xcformat.refdoc.model import Offset, Walker
from xcformat.refdoc.page import build_pages

ENTRY = c.Struct(
    "pfn" / c.Int64ul * "guest frame number",
    "type" / c.Enum(c.Int32ul, NOTAB=0, XTAB=15) * "page type",
    "flags" / c.BitStruct("dirty" / c.Flag * "written since the last pass", "rest" / c.BitsInteger(7)),
    c.Padding(3),
)

BATCH = c.Struct(
    "magic" / c.Const(b"XCBATCH\0") * "identifies a batch",
    "count" / c.Int32ul * "number of `entries`",
    "kind" / c.Int16ul * "selects the body | layout",
    "reserved" / c.Int16ul * "zero",
    "entries" / c.Array(this.count, ENTRY) * "one per page",
    "body" / c.Switch(this.kind, {1: c.Struct("a" / c.Int32ul * "first"), 2: c.Int32sl}) * "by kind",
    "note" / c.Bytes(this.count * 2) * "two bytes per entry",
    "page" / c.Bytes(4096) * "a page of data",
    "end" / c.Int64ul * "checksum",
)


@pytest.fixture
def registry(monkeypatch):
    specgen.load_registry()  # import the real schemas first, so they do not land in the test's
    monkeypatch.setattr(schema, "REGISTRY", {})
    schema.document("toy", "entry", ENTRY, title="Batch entry", since="Xen 3.1",
                    source="0123456789abcdef0123456789abcdef01234567:tools/libxc/xc_toy.c",
                    doc="One page of a batch.")
    schema.document("toy", "batch", BATCH, title="Batch", since="xcformat 0.1",
                    source="this project", doc="A run of pages with a `count`.")
    return schema.REGISTRY


def rows_by_path(struct, known=()):
    return {f.path: f for f in Walker({id(e.struct): e for e in known}).fields(struct)}


def test_fixed_fields_get_absolute_offsets_sizes_types_and_their_docs():
    rows = rows_by_path(BATCH)
    assert (str(rows["magic"].offset), rows["magic"].size, rows["magic"].type) == \
        ("0x0", 8, 'bytes = "XCBATCH\\0"')
    assert (str(rows["count"].offset), rows["count"].size, rows["count"].type) == ("0x8", 4, "u32 LE")
    assert rows["count"].meaning == "number of `entries`."
    assert str(rows["reserved"].offset) == "0xe"


def test_fields_after_a_variable_field_are_placed_relative_to_its_end():
    rows = rows_by_path(BATCH)
    assert rows["entries"].size is None and rows["entries"].size_text == "16 × count"
    assert rows["body"].offset == Offset("end of entries", 0)
    assert rows["body"].size == 4          # every case of the switch is four bytes
    assert str(rows["note"].offset) == "end of entries + 0x4"
    assert rows["note"].size_text == "count * 2"
    assert str(rows["page"].offset) == "end of note"
    assert str(rows["end"].offset) == "end of note + 0x1000"


def test_nested_array_elements_switch_cases_enums_and_bits_are_expanded():
    rows = rows_by_path(BATCH)
    assert str(rows["entries[i].type"].offset) == "entries[i] + 0x8"
    assert rows["entries[i].type"].meaning == "page type. Values: NOTAB = 0, XTAB = 15."
    assert rows["entries[i].flags.dirty"].type == "flag (bit 0)"
    assert rows["entries[i].flags.rest"].type == "unsigned (bits 1–7)"
    assert rows["entries[i].(padding)"].size == 3
    assert rows["body ⟨kind = 1⟩.a"].meaning == "first."
    assert rows["body ⟨kind = 2⟩"].type == "s32 LE"
    assert rows["entries[i].pfn"].depth == 1 and rows["entries"].depth == 0


def test_a_documented_structure_used_inside_another_is_referenced_not_repeated(registry):
    page = build_pages(registry, describe=lambda name: "A toy format.")["toy"]
    batch = {s.entry.key: s for s in page.structures}["batch"]
    paths = [f.path for f in batch.fields]
    assert "entries[i].pfn" not in paths
    assert {f.path: f.type for f in batch.fields}["entries"] == "{{toy/entry}}[count]"
    text = markdown.render(page, registry)
    assert "[Batch entry](#entry)[count]" in text


def test_markdown_page_has_provenance_field_table_and_ruler(registry):
    page = build_pages(registry, describe=lambda name: "A toy format.")["toy"]
    text = markdown.render(page, registry)
    assert text.startswith(markdown.MARKER)
    assert "- **Introduced:** Xen 3.1" in text
    assert ("[tools/libxc/xc_toy.c at Xen commit 0123456789ab](https://xenbits.xen.org/gitweb/"
            "?p=xen.git;a=blob;f=tools/libxc/xc_toy.c;hb=0123456789abcdef0123456789abcdef01234567)"
            in text)
    assert "- **Source:** this project" in text
    assert "| 0x8 | 4 | `count` | u32 LE | number of `entries`. |" in text
    assert "selects the body \\| layout" in text            # table cells stay cells
    assert "~ entries: 16 × count bytes ~" in text


def test_text_ruler_draws_boxes_elides_long_fields_and_bands_variable_ones():
    rows = Walker({}).fields(BATCH)
    ruler = diagram.text(rows)
    lines = ruler.splitlines()
    assert lines[2].startswith("0x0000  |") and "magic" in lines[2]
    assert "0x0008  |         count         |   kind    | reserved  |" in lines
    assert any("~ note: count * 2 bytes ~" in line for line in lines)
    assert any(": 4080 more bytes of page :" in line for line in lines)
    assert len(lines) < 30                         # the 4096-byte page does not take 512 rows


def test_svg_diagram_is_well_formed_and_has_a_box_per_piece():
    rows = Walker({}).fields(ENTRY)
    svg = diagram.svg(rows, "Batch entry")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    labels = [t.text for t in root.iter(f"{ns}text")]
    assert {"pfn", "type", "flags", "(padding)"} <= set(labels)
    assert len(list(root.iter(f"{ns}rect"))) == 4


def test_rst_escapes_markup_and_turns_code_spans_into_literals():
    assert rst.inline("a `b_c` *d* e_") == r"a ``b_c`` \*d\* e\_"
    assert rst.inline("odd ` tick") == r"odd \` tick"


def test_check_passes_when_current_and_fails_when_stale_missing_or_orphaned(registry, tmp_path,
                                                                             capsys):
    out = tmp_path / "spec"
    assert specgen.main(["--out", str(out)]) == 0
    assert (out / "toy.md").read_text().startswith(markdown.MARKER)
    (out / "rationale.md").write_text("# written by hand\n")
    assert specgen.main(["--check", "--out", str(out)]) == 0

    (out / "toy.md").write_text((out / "toy.md").read_text().replace("Xen 3.1", "Xen 3.2"))
    assert specgen.main(["--check", "--out", str(out)]) == 1
    assert "toy.md: differs from the schemas" in capsys.readouterr().err

    specgen.main(["--out", str(out)])
    (out / "gone.md").write_text(markdown.MARKER + "\nold\n")
    assert specgen.main(["--check", "--out", str(out)]) == 1
    assert "gone.md: no format registers it any more" in capsys.readouterr().err
    specgen.main(["--out", str(out)])
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "rationale.md", "toy.md"]
    assert "| [toy](toy.md) | 2 |" in (out / "README.md").read_text()

    (out / "toy.md").unlink()
    assert specgen.main(["--check", "--out", str(out)]) == 1


def test_the_committed_spec_matches_the_schemas():
    # A fresh interpreter: registration order (the order of the reference) must not depend on
    # what other tests happened to build first.
    result = subprocess.run([sys.executable, "-m", "xcformat.specgen", "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr + "\nrun `python -m xcformat.specgen`, commit spec/"


def test_each_long_field_keeps_its_first_and_last_row_when_they_follow_each_other():
    rows = diagram.rows(Walker({}).fields(c.Struct("a" / c.Bytes(24), "b" / c.Bytes(32))))
    assert [(r.kind, r.offset or r.text) for r in rows] == [
        ("bytes", "0x0000"), ("elided", "8 more bytes of a"), ("bytes", "0x0010"),
        ("bytes", "0x0018"), ("elided", "16 more bytes of b"), ("bytes", "0x0030")]
    assert [p.label for r in rows for p in r.pieces] == ["a", "…a", "b", "…b"]


# -- the offsets the reference prints are where construct really reads --------------------------
FIXED = [c.Int8ul, c.Int16ul, c.Int32ul, c.Int64ul, c.Int32sb, c.Bytes(3), c.Bytes(12),
         c.Padding(5), c.Array(3, c.Int16ul)]


@st.composite
def fixed_structs(draw, depth=0):
    """``(struct, probe)``: a random fixed-size Struct, and the same with a Tell before each
    field, which records where construct actually is when it reads that field."""
    count = draw(st.integers(1, 6))
    fields, probes = [], []
    for n in range(count):
        if depth < 2 and draw(st.integers(0, 4)) == 0:
            inner, inner_probe = draw(fixed_structs(depth + 1))
        else:
            inner = inner_probe = draw(st.sampled_from(FIXED))
        fields.append(f"f{n}" / inner)
        probes += [f"at_f{n}" / c.Tell, f"f{n}" / inner_probe]
    return c.Struct(*fields), c.Struct(*probes)


def _positions(parsed, prefix=""):
    for key, value in parsed.items():
        if key.startswith("at_"):
            yield prefix + key[3:], value
        elif isinstance(value, dict) and not key.startswith("_"):
            yield from _positions(value, f"{prefix}{key}.")


@settings(max_examples=60, deadline=None)
@given(fixed_structs())
def test_printed_offsets_are_where_construct_reads_each_field(pair):
    struct, probe = pair
    size = struct.sizeof()
    rows = {f.path: f for f in Walker({}).fields(struct)}
    actual = dict(_positions(probe.parse(bytes(size))))
    assert actual, "every struct has fields"
    for path, position in actual.items():
        assert rows[path].offset == Offset(None, position), path
    top = [f for f in rows.values() if f.depth == 0]
    assert sum(f.size for f in top) == size
    drawn = sum(p.width for r in diagram.rows(list(rows.values())) for p in r.pieces)
    elided = sum(int(r.text.split()[0]) for r in diagram.rows(list(rows.values()))
                 if r.kind == "elided")
    assert drawn + elided == size


def test_rst_cells_that_look_like_list_items_stay_text():
    from docutils.core import publish_doctree

    lines = rst._table(["a", "b"], [["- minus", "1. one"], ["", "plain"]])
    tree = publish_doctree("\n".join(lines))
    assert not list(tree.findall(lambda n: n.tagname in ("bullet_list", "enumerated_list")))
    assert "- minus" in tree.astext() and "1. one" in tree.astext()


def test_every_link_between_spec_pages_reaches_an_anchor():
    spec = specgen.SPEC_DIR
    anchors = {p.name: set(re.findall(r'<a id="([^"]+)"></a>', p.read_text()))
               for p in spec.glob("*.md")}
    links = [(page.name, target or page.name, anchor)
             for page in spec.glob("*.md")
             for target, anchor in re.findall(r"\]\(([\w.-]*?\.md)?(?:#([\w.-]+))?\)",
                                              page.read_text())]
    assert links
    for page, target, anchor in links:
        assert target in anchors, f"{page}: link to missing {target}"
        assert not anchor or anchor in anchors[target], f"{page}: {target}#{anchor}"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(FIXED), st.integers(0, 40)), min_size=1, max_size=8))
def test_offsets_after_variable_fields_count_from_the_end_they_name(layout):
    """Integers in ``layout`` are variable fields (a u8 length, then that many bytes)."""
    fields, probes, data = [], [], b""
    for n, item in enumerate(layout):
        if isinstance(item, int):
            member = c.Struct("n" / c.Int8ul, "data" / c.Bytes(this.n))
            data += bytes([item]) + bytes(item)
        else:
            member = item
            data += bytes(item.sizeof())
        fields.append(f"f{n}" / member)
        probes += [f"at_f{n}" / c.Tell, f"f{n}" / member, f"end_f{n}" / c.Tell]
    rows = {f.path: f for f in Walker({}).fields(c.Struct(*fields))}
    parsed = c.Struct(*probes).parse(data)
    ends = {f"end of f{n}": parsed[f"end_f{n}"] for n in range(len(layout))}
    for n in range(len(layout)):
        offset = rows[f"f{n}"].offset
        base = 0 if offset.anchor is None else ends[offset.anchor]
        assert base + offset.delta == parsed[f"at_f{n}"], (n, offset)


def test_format_descriptions_from_docstrings_lose_their_rest_roles():
    from xcformat.refdoc.page import plain_code

    assert plain_code("the ``send`` command (:mod:`.targets`, :func:`~x.y`)") == \
        "the `send` command (`targets`, `x.y`)"
