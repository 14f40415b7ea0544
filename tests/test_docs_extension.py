"""The Sphinx extension, building a small site around the toy structures of test_specgen."""

import io
import re
import sys
from pathlib import Path

import pytest

from tests.test_specgen import registry  # noqa: F401 (fixture)

EXT = Path(__file__).resolve().parent.parent / "docs" / "_ext"

INDEX = """\
Test
====

.. toctree::

   reference/index

.. xcformat-requires:: command:map

.. xcformat-requires:: command:no-such-command

.. xcformat-cli:: map

.. xcformat-cli:: no-such-command

.. xcformat-cli-all::
"""

REFERENCE = """\
Reference
=========

.. xcformat-reference-toc::
"""


def build(tmp_path, index=INDEX):
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace

    src = tmp_path / "src"
    (src / "reference").mkdir(parents=True)
    (src / "conf.py").write_text(f"import sys\nsys.path.insert(0, {str(EXT)!r})\n"
                                 "extensions = ['xcformat_docs']\nnitpicky = True\n")
    (src / "index.rst").write_text(index)
    (src / "reference" / "index.rst").write_text(REFERENCE)
    warnings = io.StringIO()
    with docutils_namespace():   # each build registers its nodes and directives afresh
        app = Sphinx(str(src), str(src), str(tmp_path / "out"), str(tmp_path / "doctrees"),
                     "html", status=None, warning=warnings, freshenv=True)
        app.build()
    return src, tmp_path / "out", warnings.getvalue()


@pytest.fixture
def site(registry, tmp_path):  # noqa: F811
    yield build(tmp_path)
    sys.modules.pop("xcformat_docs", None)


def test_reference_pages_are_generated_with_tables_links_and_drawings(site):
    src, out, warnings = site
    assert warnings == ""
    assert (src / "reference" / "formats" / "toy.rst").exists()
    html = (out / "reference" / "formats" / "toy.html").read_text()
    assert "<svg" in html and "Byte layout of Batch" in html
    assert 'href="#ref-toy-entry"' in html                 # the type column links to the entry
    assert "tools/libxc/xc_toy.c at Xen commit 0123456789ab" in html
    assert "number of <code" in html                       # `entries` became a literal
    assert "toy.html" in (out / "reference" / "index.html").read_text()


def test_requirements_and_cli_help_reflect_this_build(site):
    _, out, _ = site
    html = (out / "index.html").read_text()
    assert "The examples on this page are run by the test suite" in html
    assert "the xcformat no-such-command command, which this build does not have yet" in html
    assert "usage: xcformat map" in html and "--svg OUT" in html
    from xcformat.cli import COMMANDS

    for name in COMMANDS:        # the all-commands reference has each one
        assert f"usage: xcformat {name}" in html
    assert html.count("usage: xcformat map") == 2


def test_a_broken_internal_link_is_reported(registry, tmp_path):  # noqa: F811
    _, _, warnings = build(tmp_path, INDEX + "\n`dangling <nowhere.html#x>`__\n")
    sys.modules.pop("xcformat_docs", None)
    assert "broken internal link: index.html: nowhere.html#x -> no such file" in warnings


def test_map_summary_compares_formats_with_the_projects_own_readers(registry, tmp_path):  # noqa: F811
    _, out, warnings = build(tmp_path, INDEX + "\n.. xcformat-map-summary:: legacy aligned\n"
                                              "   :pages: 64\n   :variant: 3.2\n")
    sys.modules.pop("xcformat_docs", None)
    assert warnings == ""
    cells = re.findall(r"<td><p>(.*?)</p></td>", (out / "index.html").read_text())
    legacy, aligned = cells[:5], cells[5:10]
    assert legacy[0].endswith("legacy</span></code>") and legacy[2:4] == ["64", "0 of 64"]
    assert aligned[0].endswith("aligned</span></code>") and aligned[2:4] == ["64", "64 of 64"]


def test_the_drop_kinds_and_record_kinds_come_from_the_descriptors(registry, tmp_path):  # noqa: F811
    _, out, warnings = build(tmp_path, INDEX + "\n.. xcformat-drop-kinds::\n"
                                              "\n.. xcformat-record-kinds::\n")
    sys.modules.pop("xcformat_docs", None)
    assert warnings == ""
    from xcformat.drops import KINDS
    from xcformat.kinds import KIND_OF

    html = (out / "index.html").read_text()
    for name, what in KINDS.items():
        assert f'<span class="pre">{name}</span>' in html and what.replace("'", "\u2019") in html
    rows = re.findall(r"<tr class=\"row-(?:odd|even)\">(.*?)</tr>", html, re.S)
    assert len(rows) == len(KIND_OF) + 1          # a header row and one row per record kind
    assert "aligned, core, legacy, v2" in rows[1]  # Wrapper: every writer carries it
