"""Sphinx configuration for the xcformat documentation."""

project = "xcformat"
author = "the xcformat developers"
copyright = "2026, the xcformat developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
exclude_patterns = ["_build", "_generated"]
html_theme = "alabaster"
autodoc_member_order = "bysource"
nitpicky = False


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
