"""The format reference generator, on small structures declared here, and on the real schemas."""

import xml.etree.ElementTree as ET

import construct as c
import pytest
from construct import this

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
    assert sorted(p.name for p in out.iterdir()) == ["rationale.md", "toy.md"]

    (out / "toy.md").unlink()
    assert specgen.main(["--check", "--out", str(out)]) == 1


def test_the_committed_spec_matches_the_schemas():
    assert specgen.main(["--check"]) == 0, "run `python -m xcformat.specgen` and commit spec/"
