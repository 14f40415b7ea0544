"""Sphinx configuration for the xcformat documentation."""

project = "xcformat"
author = "the xcformat developers"
copyright = "2026, the xcformat developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
exclude_patterns = ["_build"]
html_theme = "alabaster"
autodoc_member_order = "bysource"
nitpicky = False
