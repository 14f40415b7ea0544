"""Generate spec/, the format reference, from the schemas: ``python -m xcformat.specgen [--check]``.

Every format package registers its construct structures with :func:`xcformat.schema.document`;
this writes ``spec/<format>.md`` for each format found.  ``--check`` writes nothing and exits 1
when spec/ differs from what the code generates (the test suite runs it, so a stale spec fails).
Hand-written pages in spec/ (anything without the generated marker) are left alone.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

from . import schema
from .refdoc import markdown
from .refdoc.page import build_pages

SPEC_DIR = Path(__file__).resolve().parent.parent / "spec"


def load_registry() -> dict:
    """Import every module that declares structures or a stream order (``<format>/schema.py``,
    ``<format>/order.py``), then return the schema registry.

    Registration order is the order of the reference; structures built for each word size are
    registered at import for both sizes, so the reference does not depend on what ran before.
    """
    import xcformat
    from . import formats

    formats.registry()
    for module in pkgutil.iter_modules(xcformat.__path__):
        if not module.ispkg:
            continue
        package = importlib.import_module(f"xcformat.{module.name}")
        declared = {m.name for m in pkgutil.iter_modules(package.__path__)}
        for name in ("schema", "order"):   # the structures, then the order of the parts
            if name in declared:
                importlib.import_module(f"xcformat.{module.name}.{name}")
    return schema.REGISTRY


def generate(registry: dict) -> dict[str, str]:
    """``{file name: Markdown}`` for every format in ``registry``, and the index."""
    pages = build_pages(registry)
    wanted = {f"{name}.md": markdown.render(page, registry) for name, page in pages.items()}
    if pages:
        wanted["README.md"] = markdown.render_index(pages)
    return wanted


def generated_files(directory: Path) -> set[str]:
    """Names of the files in ``directory`` that this generator wrote (they carry its marker)."""
    if not directory.is_dir():
        return set()
    return {p.name for p in directory.glob("*.md")
            if p.read_text(encoding="utf-8").startswith(markdown.MARKER)}


def differences(directory: Path, wanted: dict[str, str]) -> list[str]:
    """What ``directory`` lacks or holds wrongly, one line per file."""
    problems = []
    for name, text in wanted.items():
        path = directory / name
        if not path.exists():
            problems.append(f"{path}: missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{path}: differs from the schemas")
    problems += [f"{directory / name}: no format registers it any more"
                 for name in sorted(generated_files(directory) - set(wanted))]
    return problems


def write(directory: Path, wanted: dict[str, str]) -> list[str]:
    """Bring ``directory`` up to date; return the names of the files changed or removed."""
    directory.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, text in wanted.items():
        path = directory / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(name)
    for name in sorted(generated_files(directory) - set(wanted)):
        (directory / name).unlink()
        changed.append(name)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xcformat.specgen", description=__doc__.split(
        "\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 when spec/ is stale")
    parser.add_argument("--out", type=Path, default=SPEC_DIR, help="the spec directory")
    args = parser.parse_args(argv)
    wanted = generate(load_registry())
    if args.check:
        problems = differences(args.out, wanted)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("spec/ is stale: run `python -m xcformat.specgen`", file=sys.stderr)
            return 1
        print(f"spec/ is current ({len(wanted)} generated pages)")
        return 0
    changed = write(args.out, wanted)
    print(f"{len(wanted)} pages, {len(changed)} changed: {', '.join(changed) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
