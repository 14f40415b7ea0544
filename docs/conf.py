"""Sphinx configuration for the xcformat documentation.

Built by ``./tools/test`` with warnings as errors.  ``nitpicky`` makes every unresolved
cross-reference a warning; the ``xcformat_docs`` extension (docs/_ext) generates the format
reference from the schemas and checks every internal link of the HTML output.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "xcformat"
author = "the xcformat developers"
copyright = "2026, the xcformat developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.viewcode",
              "xcformat_docs"]
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path = ["_static"]
html_css_files = ["xcformat.css"]
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
nitpicky = True
# Names from outside this project that autodoc meets in signatures; there is no network at build
# time for intersphinx, so they stay plain text.
nitpick_ignore_regex = [
    ("py:class", r"(construct|collections|typing|enum|os|io|mmap|pathlib|dataclasses)\..*"),
    ("py:class", r"(Construct|Iterator|Iterable|Callable|Mapping|Protocol|Path|PathLike)"),
    ("py:class", r"(memoryview|bytearray|frozenset|Counter|TextIO|BinaryIO)"),
    ("py:class", r"(xcformat\.)?[\w.]*(RegionSink)"),
    # Fragments of a generic type that autodoc splits at its commas ("tuple[str"): not links.
    ("py:class", r"'?[\w.]+\[.*"),
]
