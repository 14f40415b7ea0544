"""Sphinx configuration for the xcformat documentation.

Built by ``./tools/test`` with warnings as errors.  The ``xcformat_docs`` extension (docs/_ext)
generates the format reference from the schemas and checks every internal link of the HTML output.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "xcformat"
author = "the xcformat developers"
copyright = "2026, the xcformat developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.viewcode",
              "xcformat_docs"]
exclude_patterns = ["_build", "_generated"]
html_theme = "furo"
html_title = "xcformat"
html_static_path = ["_static"]
html_css_files = ["xcformat.css"]
# ``sphinx -b man``: xcformat(1) from the user guide (its pages are inlined, --help included).
man_pages = [("guide/index", "xcformat",
              "read, validate and convert Xen save images, migration streams and core dumps",
              [author], 1)]
man_show_urls = False
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
# Quotes and ellipses only: smartquotes' "D" would turn the ``--`` of an option written in running
# text or in a table cell into an en dash (the build checks the HTML for any that slip through).
smartquotes_action = "qe"
# Every cross-reference must resolve (the xcformat_docs extension resolves a docstring's short
# names the way its reader would, and shows a name of this project that has no page as code).
nitpicky = True
# Names from outside this project that autodoc meets in signatures; there is no network at build
# time for intersphinx, so they stay plain text.
nitpick_ignore_regex = [
    ("py:class", r"(array|construct|collections|contextlib|typing|enum|os|io|mmap|pathlib|dataclasses|socket)\..*"),
    ("py:class", r"(Construct|Iterator|Iterable|Callable|Mapping|Protocol|Path|PathLike)"),
    ("py:class", r"(memoryview|bytearray|frozenset|Counter|TextIO|BinaryIO)"),
    ("py:class", r"(xcformat\.)?[\w.]*(RegionSink)"),
    # Fragments of a generic type that autodoc splits at its commas ("tuple[str"): not links.
    ("py:class", r"'?[\w.]+\[.*"),
]


def _generate_aligned_overhead(app) -> None:
    """Compute the overhead table of the aligned rationale page with the project's own code."""
    from pathlib import Path

    from xcformat.aligned.overhead import rst_table

    target = Path(app.srcdir) / "_generated" / "aligned_overhead.inc"
    target.parent.mkdir(exist_ok=True)
    text = rst_table()
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


def setup(app):
    app.connect("builder-inited", _generate_aligned_overhead)
