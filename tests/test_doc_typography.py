"""Options in the built documentation keep their two hyphens (``--io``, never an en dash)."""

import io
import runpy
from pathlib import Path

from xcformat.refdoc.typography import dashed_options, dashed_options_in_man

DOCS = Path(__file__).resolve().parent.parent / "docs"
EN_DASH, EM_DASH = "\u2013", "\u2014"


def test_finds_options_written_with_a_dash_and_nothing_else(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "index.html").write_text(
        f"<p>use {EN_DASH}io direct, then <b>{EM_DASH}to</b> v2</p>"
        f"<p>Xen 3.0 {EN_DASH} 4.5, bits 0{EN_DASH}7, x{EN_DASH}y, --io ok</p>"
        f"<script>var a = '{EN_DASH}hidden';</script>")
    (tmp_path / "sub" / "page.html").write_text(f"<td>{EN_DASH}hold 2</td>")
    assert list(dashed_options(tmp_path)) == ["index.html: \u2013io", "index.html: \u2014to",
                                              "sub/page.html: \u2013hold"]


def test_the_documentation_build_leaves_double_hyphens_alone(tmp_path):
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace

    action = runpy.run_path(str(DOCS / "conf.py"))["smartquotes_action"]
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(f"smartquotes_action = {action!r}\n")
    (src / "index.rst").write_text(
        "Test\n====\n\nThe receiver holds for --hold seconds; use --io direct.\n\n"
        ".. list-table::\n\n   * - --to v2\n     - \"quoted\"\n")
    with docutils_namespace():
        Sphinx(str(src), str(src), str(tmp_path / "out"), str(tmp_path / "doctrees"), "html",
               status=None, warning=io.StringIO(), freshenv=True).build()
    html = (tmp_path / "out" / "index.html").read_text()
    assert "--hold" in html and "--io" in html and "--to v2" in html
    assert list(dashed_options(tmp_path / "out")) == []
    assert "\u201cquoted\u201d" in html          # quotes are still typeset


def test_the_manual_page_check_knows_roff_dashes(tmp_path):
    (tmp_path / "xcformat.1").write_text(
        ".TP\n\\-\\-io MODE\nuse \\(enio or \u2013to, bits 0\\(en7\n")
    assert list(dashed_options_in_man(tmp_path)) == ["xcformat.1: \\(enio",
                                                      "xcformat.1: \u2013to"]
