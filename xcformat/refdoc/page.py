"""What one format's reference page says, independent of the markup it is written in."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass

from ..schema import ORDERS, Documented, StreamOrder
from .model import Field, Walker, structure_size

#: ``COMMIT:path`` in xen-project/xen.
XEN_SOURCE = re.compile(r"^(?P<commit>[0-9a-f]{7,40}):(?P<path>\S+)$")
XEN_BLOB = "https://xenbits.xen.org/gitweb/?p=xen.git;a=blob;f={path};hb={commit}"


@dataclass(frozen=True)
class Structure:
    entry: Documented
    fields: list[Field]
    size_text: str

    @property
    def source(self) -> tuple[str, str | None]:
        return source_link(self.entry.source)


def source_link(source: str) -> tuple[str, str | None]:
    """``(text, url)``: a source as written, and a link when it names a Xen commit."""
    match = XEN_SOURCE.match(source)
    if match is None:
        return source, None
    return (f"{match['path']} at Xen commit {match['commit'][:12]}",
            XEN_BLOB.format(**match.groupdict()))


@dataclass(frozen=True)
class FormatPage:
    format: str
    description: str
    structures: list[Structure]
    order: StreamOrder | None = None   #: the parts of a whole stream, shown first


def describe_format(name: str) -> str:
    """The format's one-line description: its registered ``Format``, else its package docstring."""
    from .. import formats

    fmt = formats.registry().get(name)
    if fmt is not None:
        return fmt.description
    try:
        module = importlib.import_module(f"xcformat.{name}")
    except ImportError:
        return ""
    return plain_code((module.__doc__ or "").strip().split("\n\n")[0].replace("\n", " "))


def plain_code(text: str) -> str:
    """reST code markup (``:mod:`x```, double backticks) as single-backtick code spans, which
    both the Markdown and the reST renderer understand."""
    text = re.sub(r":[\w:]+:`~?\.?([^`]+)`", r"`\1`", text)
    return re.sub(r"``([^`]+)``", r"`\1`", text)


def build_pages(registry: dict[tuple[str, str], Documented],
                describe=describe_format, orders=None) -> dict[str, FormatPage]:
    """One page per format, structures in the order the schemas registered them, with the
    format's stream order (from ``orders``, by default every one declared) first."""
    orders = ORDERS if orders is None else orders
    walker = Walker({id(e.struct): e for e in registry.values()})
    pages: dict[str, FormatPage] = {}
    for entry in registry.values():
        if entry.format not in pages:
            pages[entry.format] = FormatPage(entry.format, describe(entry.format), [],
                                             orders.get(entry.format))
        top = Walker({k: v for k, v in walker.known.items() if k != id(entry.struct)})
        pages[entry.format].structures.append(
            Structure(entry, top.fields(entry.struct), structure_size(entry.struct)))
    return dict(sorted(pages.items()))
