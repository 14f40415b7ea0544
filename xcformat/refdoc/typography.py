"""Checking a built HTML site and manual page for command-line options typography has spoiled.

Sphinx's smartquotes turns ``--`` in running text into an en dash (U+2013), so ``--io`` would
read as a dash and ``io``, which no shell accepts.  The docs build runs with dashes left alone; this check keeps it so.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

#: An en or em dash (U+2013, U+2014) at the start of a word, followed by an option name.
DASHED_OPTION = re.compile("(?<![\\w\u2013\u2014])[\u2013\u2014][a-z][a-z0-9-]*")


class _Text(HTMLParser):
    """The text of a page, without scripts and styles."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style") and self._skip > 0

    def handle_data(self, data):
        if not self._skip:
            self.chunks.append(data)


def dashed_options(root: Path) -> Iterator[str]:
    """``"page.html: <dash>io"`` for every option written with a dash instead of two hyphens."""
    for path in sorted(root.rglob("*.html")):
        page = _Text()
        page.feed(path.read_text(encoding="utf-8", errors="replace"))
        for match in DASHED_OPTION.finditer("".join(page.chunks)):
            yield f"{path.relative_to(root)}: {match[0]}"


#: The same in roff, where the dash may also be written ``\(en`` or ``\(em``.
ROFF_DASHED_OPTION = re.compile(DASHED_OPTION.pattern + r"|\\\((?:en|em)[a-z][a-z0-9-]*")


def dashed_options_in_man(root: Path) -> Iterator[str]:
    """The same check for the manual pages (``*.1`` ... ``*.9``) under ``root``."""
    for path in sorted(p for p in root.rglob("*.[1-9]") if p.is_file()):
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in ROFF_DASHED_OPTION.finditer(text):
            yield f"{path.relative_to(root)}: {match[0]}"
