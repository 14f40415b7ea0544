"""Sphinx extension: the parts of the documentation that xcformat's own code produces at build time.

* ``reference/formats/<format>.rst`` for every format that registers structures, generated from
  the construct schemas by :mod:`xcformat.refdoc` (field tables and SVG byte layouts);
* ``.. xcformat-cli:: COMMAND``: the command's ``--help``, from the real argument parser;
  ``.. xcformat-cli-all::`` the same for every command; ``.. xcformat-cli-common::`` the options
  every command shares, as a definition list;
* ``.. xcformat-api:: MODULE ...``: autodoc for each module this build has;
* ``.. xcformat-requires:: REQUIREMENT ...``: what a page's examples need, checked against this
  build (the example tests read the same line);
* ``.. xcformat-map::``: the layout map of a synthetic sample image, text and SVG;
  ``.. xcformat-map-summary::`` a table comparing several formats' maps of that sample;
* ``.. xcformat-reference-toc::``: the table of contents of the generated format pages;
* ``.. xcformat-dump-checks::``: the numbered checks ``validate`` makes on a core dump;
* ``.. xcformat-drop-kinds::``: the ``--drop`` vocabulary; ``.. xcformat-record-kinds::`` every
  record kind's descriptor, as a table;
* after an HTML build, every internal link and anchor is checked, and no option may be written
  with an en dash in place of its two hyphens; either is a warning, and the build runs with warnings
  as errors.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import tempfile
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from xcformat import specgen
from xcformat.refdoc import features, rst
from xcformat.refdoc.page import build_pages
from xcformat.refdoc.links import broken_links
from xcformat.refdoc.typography import dashed_options, dashed_options_in_man

logger = logging.getLogger(__name__)
GENERATED = Path("reference") / "formats"


# -- generated reference pages --------------------------------------------------------------------
def write_reference(app) -> None:
    registry = specgen.load_registry()
    out = Path(app.srcdir) / GENERATED
    out.mkdir(parents=True, exist_ok=True)
    wanted = {f"{name}.rst": rst.render(page, registry)
              for name, page in build_pages(registry).items()}
    for name, text in wanted.items():
        path = out / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    for path in out.glob("*.rst"):
        if path.name not in wanted:
            path.unlink()


# -- directives ----------------------------------------------------------------------------------
class Generated(SphinxDirective):
    def parse(self, lines: list[str]) -> list[nodes.Node]:
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source=self.get_source_info()[0]),
                                self.content_offset, container)
        return container.children

    def not_yet(self, missing: list[str], what: str) -> list[nodes.Node]:
        needs = features.describe_all(missing)
        return self.parse([".. note::", "", f"   {what} needs {needs}, which this build of "
                           "xcformat does not have yet."])


class CliHelp(Generated):
    """``--help`` of one subcommand, exactly as the installed parser prints it."""

    required_arguments = 1

    def run(self):
        name = self.arguments[0]
        missing = features.missing([f"command:{name}"])
        if missing:
            return self.not_yet(missing, f"``xcformat {name}``")
        return [_help_block(name)]


class CliCommonOptions(Generated):
    """The options every command shares, as a definition list, from the argument parser's
    group of them (so the guide cannot drift from ``--help``)."""

    def run(self):
        from xcformat.cli import common_options

        lines = []
        for invocation, text in common_options():
            lines += [f"``{invocation}``", f"    {text}", ""]
        return self.parse(lines)


class CliHelpAll(Generated):
    """``--help`` of every subcommand this build has, in the order of ``COMMANDS``."""

    def run(self):
        from xcformat.cli import COMMANDS

        out = []
        for name in COMMANDS:
            out += self.parse([f".. rubric:: xcformat {name}", ""])
            out.append(_help_block(name))
        return out


def _help_block(name: str) -> nodes.literal_block:
    from xcformat.cli import build_parser, subcommand

    with _columns(88):
        text = subcommand(build_parser(), name).format_help()
    return nodes.literal_block(text, text, language="text")


class Api(Generated):
    required_arguments = 1
    optional_arguments = 50

    def run(self):
        out = []
        for module in self.arguments:
            missing = features.missing([f"module:{module}"])
            if missing:
                out += self.not_yet(missing, f"The API reference of ``{module}``")
                continue
            options = ["   :members:", "   :undoc-members:"]
            if hasattr(importlib.import_module(module), "__all__"):
                options.append("   :imported-members:")  # a package's public names, per __all__
            out += self.parse([f".. automodule:: {module}", *options, ""])
        return out


class Requires(Generated):
    """States what the page's examples need and whether this build has it."""

    required_arguments = 1
    optional_arguments = 20

    def run(self):
        missing = features.missing(self.arguments)
        if not missing:
            return self.parse([".. note::", "", "   The examples on this page are run by the "
                               "test suite (``tests/test_docs_examples.py``), so their output is "
                               "what this version of xcformat prints."])
        needs = features.describe_all(missing)
        return self.parse([".. warning::", "", f"   This page describes work in progress: it "
                           f"needs {needs}, which this build does not have yet. The test suite "
                           "runs its examples and records them as expected failures until then."])


class ReferenceToc(Generated):
    """A table of contents of the generated format pages this build has."""

    def run(self):
        names = sorted(p.stem for p in (Path(self.env.srcdir) / GENERATED).glob("*.rst"))
        if not names:
            return self.parse(["No format in this build registers its structures yet."])
        return self.parse([".. toctree::", "   :maxdepth: 1", ""]
                          + [f"   formats/{name}" for name in names])


class LayoutMapFigure(Generated):
    """The ``xcformat map`` of a synthetic image: ``.. xcformat-map:: FORMAT`` writes a legacy
    image from ``xcformat.synth`` (options: ``guest``, ``pages``, ``variant``) and, unless FORMAT
    is plain ``legacy``, converts it (``:align:`` for the format's aligned variant)."""

    required_arguments = 1
    option_spec = {"guest": directives.unchanged, "pages": directives.positive_int,
                   "variant": directives.unchanged, "align": directives.flag}

    def run(self):
        target = self.arguments[0]
        needs = ["module:xcformat.synth", "format:legacy", f"format:{target}"]
        if target != "legacy" or "align" in self.options:
            needs.append(f"writer:{target}")
        missing = features.missing(needs)
        if missing:
            return self.not_yet(missing, f"The map of a sample {target} image")
        from xcformat.layoutmap import svg, text

        layout, title = sample_layout(target, **_sample_options(self.options))
        drawing = svg.render(layout, title)
        return [nodes.literal_block("", text.render(layout, title), language="text"),
                nodes.raw("", f'<div class="xcformat-map">{drawing}</div>', format="html")]


class LayoutMapSummary(Generated):
    """A table comparing the maps of the same sample in several formats:
    ``.. xcformat-map-summary:: legacy aligned v2 v2+align`` (same options as ``xcformat-map``)."""

    required_arguments = 1
    optional_arguments = 10
    option_spec = LayoutMapFigure.option_spec

    def run(self):
        from xcformat.layoutmap.text import human

        targets = [(t.split("+")[0], t.endswith("+align")) for t in self.arguments]
        needs = ["module:xcformat.synth", "format:legacy"]
        needs += [f"{kind}:{t}" for t, align in targets for kind in ("format", "writer")
                  if t != "legacy" or align]
        missing = features.missing(dict.fromkeys(needs))
        if missing:
            return self.not_yet(missing, "The comparison of sample maps")
        rows = []
        for target, align in targets:
            layout, _ = sample_layout(target, align=align, **_sample_options(self.options))
            pages = layout.summary.pages
            page_bytes = layout.summary.bytes_by_kind["page-data"]
            rows.append(f"   * - ``{target}``{' ``--align``' if align else ''}\n"
                        f"     - {human(layout.size)}\n     - {pages}\n"
                        f"     - {layout.summary.pages_aligned} of {pages}\n"
                        f"     - {human(layout.size - page_bytes)}")
        head = [".. list-table::", "   :header-rows: 1", "",
                "   * - format\n     - file size\n     - pages stored\n"
                "     - pages on a 4 KiB boundary\n     - bytes other than page data"]
        return self.parse("\n".join(head + rows).split("\n"))


class DumpChecks(Generated):
    """The numbered checks of a core dump (``xcformat.core.checks``), as a table."""

    def run(self):
        from xcformat.core.checks import CHECKS
        from xcformat.refdoc.rst import inline

        lines = [".. list-table::", "   :header-rows: 1", "   :widths: 8 12 80", "",
                 "   * - #", "     - level", "     - what is checked"]
        for number, (level, what) in CHECKS.items():
            lines += [f"   * - {number}", f"     - {level}", f"     - {inline(what)}"]
        return self.parse(lines)


class DropKinds(Generated):
    """The ``--drop`` vocabulary (``xcformat.kinds.DROP_KINDS``): each kind and what it leaves
    out, as a definition list."""

    def run(self):
        from xcformat.drops import KINDS

        lines = []
        for name, what in KINDS.items():
            lines += [f"``{name}``", f"   {what}", ""]
        return self.parse(lines)


class RecordKinds(Generated):
    """Every record kind's descriptor (``xcformat.kinds.KIND_OF``), as a table."""

    def run(self):
        from xcformat.kinds import KIND_OF

        lines = [".. list-table::", "   :header-rows: 1", "",
                 "   * - record", "     - ``--drop``", "     - guests",
                 "     - a restore needs it", "     - writers that carry it"]
        for cls, described in KIND_OF.items():
            drops = dict.fromkeys(d.name for d in described.item_drops.values())
            if described.drop:
                drops[described.drop.name] = None
            lines += [f"   * - :class:`~{cls.__module__}.{cls.__name__}`",
                      f"     - {', '.join(f'``{d}``' for d in drops) or 'none'}",
                      f"     - {', '.join(sorted(g.value.upper() for g in described.guests))}",
                      f"     - {'yes' if described.restore else 'no'}",
                      f"     - {', '.join(sorted(described.formats))}"]
        return self.parse(lines)


def _sample_options(options) -> dict:
    return {"guest": options.get("guest", "pv"), "pages": options.get("pages", 2100),
            "variant": options.get("variant", "4.5"), **(
                {"align": True} if "align" in options else {})}


@functools.lru_cache(maxsize=16)
def sample_layout(target: str, *, guest: str, pages: int, variant: str, align: bool = False):
    """``(LayoutMap, title)`` of a synthetic guest written as ``target`` (kept for the build:
    the figure and the summary of one page share the conversions)."""
    from xcformat import formats
    from xcformat.formats import Hints, WriteOptions
    from xcformat.io import open_sink, open_source
    from xcformat.layoutmap import LayoutMap
    from xcformat.synth import GuestSpec, write_legacy

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "sample.img")
        write_legacy(GuestSpec(guest=guest, variant=variant, pages=pages), path)
        if target != "legacy" or align:
            converted = os.path.join(tmp, f"sample.{target}")
            with open_source(path, "buffered") as source, open_sink(converted, "buffered") as sink:
                reader = formats.get("legacy").reader(source, Hints())
                formats.get(target).writer(sink, WriteOptions(align=align, say=lambda _: None)) \
                    .write(reader.records())
            path = converted
        layout = LayoutMap()
        with open_source(path, "buffered") as source:
            fmt, _ = formats.detect(source)
            reader = fmt.reader(source, Hints())
            reader.on_region = layout.add
            for _ in reader.records():
                pass
            layout.finish(source.size)
        title = (f"{guest} guest, {pages} pages, saved by Xen {variant}, as {target}"
                 + (" --align" if align else ""))
        return layout, title


@contextlib.contextmanager
def _columns(width: int):
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        yield
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


# -- cross-references ---------------------------------------------------------------------------
def resolve_short_names(app, env, node, contnode):
    """Resolve a Python reference the way a reader of the docstring would.

    ``TruncatedError`` or ``.sniff`` in a docstring of ``xcformat.legacy`` means the one object of
    this project with that name, looked up from the docstring's module outwards; if that object
    exists but is not documented (a submodule, a constant), the name is shown as code, unlinked.
    Anything else stays unresolved, and nitpicky mode reports it.
    """
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip(".~")
    context = node.get("py:module") or ""
    scopes = [".".join(context.split(".")[:n]) for n in range(context.count(".") + 1, 0, -1)]
    if node.get("py:class"):
        scopes.insert(0, f"{context}.{node['py:class']}")
    candidates = [f"{scope}.{target}" for scope in scopes if scope] + [target]
    domain = env.domains["py"] if hasattr(env, "domains") else env.get_domain("py")
    for name in candidates:
        if name in domain.objects:
            return domain.resolve_xref(env, node["refdoc"], app.builder, "obj", name, node,
                                       contnode)
    unique = [name for name, entry in domain.objects.items() if name.startswith("xcformat.")
              and name.endswith("." + target) and not entry.aliased]
    if len(unique) == 1:
        return domain.resolve_xref(env, node["refdoc"], app.builder, "obj", unique[0], node,
                                   contnode)
    if any(_exists(name) for name in candidates if name.startswith("xcformat")):
        return contnode
    if node.get("reftype") == "attr" and node.get("py:class"):
        return contnode  # an instance attribute, set in __init__: nothing to link to
    return None


def _exists(dotted: str) -> bool:
    """Whether ``dotted`` names a module of this project or an attribute of one."""
    module, _, attribute = dotted.rpartition(".")
    try:
        importlib.import_module(dotted)
        return True
    except ImportError:
        pass
    try:
        return hasattr(importlib.import_module(module), attribute) if module else False
    except ImportError:
        return False


def follow_imported(app, modname, attribute):
    """Source links for module-level data (a frozenset, an int) belong to the module that defines
    it, not to the module of its type (``builtins``), which has no source page."""
    import inspect

    obj = importlib.import_module(modname)
    for name in attribute.split("."):
        obj = getattr(obj, name, None)
    defined_in = getattr(obj, "__module__", None)
    if defined_in in (None, "builtins") or not (inspect.isclass(obj) or inspect.isroutine(obj)):
        return modname
    return None


# -- link checking --------------------------------------------------------------------------------
def check_links(app, exception) -> None:
    if exception is not None:
        return
    if app.builder.format == "man":
        for problem in dashed_options_in_man(Path(app.outdir)):
            logger.warning(f"option written with a dash, not two hyphens: {problem}")
    if app.builder.format != "html":
        return
    for problem in broken_links(Path(app.outdir)):
        logger.warning(f"broken internal link: {problem}")
    for problem in dashed_options(Path(app.outdir)):
        logger.warning(f"option written with a dash, not two hyphens: {problem}")


def setup(app):
    app.setup_extension("sphinx.ext.autodoc")   # xcformat-api emits automodule
    app.setup_extension("sphinx.ext.viewcode")  # follow_imported hooks into it
    app.connect("builder-inited", write_reference)
    app.connect("build-finished", check_links)
    app.connect("missing-reference", resolve_short_names)
    app.connect("viewcode-follow-imported", follow_imported)
    app.add_directive("xcformat-cli", CliHelp)
    app.add_directive("xcformat-cli-all", CliHelpAll)
    app.add_directive("xcformat-cli-common", CliCommonOptions)
    app.add_directive("xcformat-api", Api)
    app.add_directive("xcformat-requires", Requires)
    app.add_directive("xcformat-map", LayoutMapFigure)
    app.add_directive("xcformat-map-summary", LayoutMapSummary)
    app.add_directive("xcformat-reference-toc", ReferenceToc)
    app.add_directive("xcformat-dump-checks", DumpChecks)
    app.add_directive("xcformat-drop-kinds", DropKinds)
    app.add_directive("xcformat-record-kinds", RecordKinds)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
