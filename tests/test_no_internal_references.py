"""Code, docs and spec cite only what a reader can follow: Xen's files and commits, and the
project's own spec/ and docs/; never notes outside the project or issue numbers."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AREAS = ("xcformat", "docs", "spec", "tests", "README.md")
#: Written in pieces so that this file does not match itself.
INTERNAL = re.compile("|".join([
    r"fact[ _-]?sheet", "\u00a7", r"\bissue [0-9]+", "shared" + "/formats",
    *(name + r"\.md" for name in ("legacy-save-stream", "migration-v2", "core-dump"))]),
    re.IGNORECASE)
OUTPUTS = ("docs/_build/", "docs/_generated/", "docs/reference/formats/")


def project_files() -> list[Path]:
    try:
        listed = subprocess.run(["git", "ls-files", "--", *AREAS], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout.split("\n")
        paths = [ROOT / name for name in listed if name]
    except (OSError, subprocess.CalledProcessError):   # not a git checkout (an sdist)
        paths = [p for area in AREAS for p in ([ROOT / area] if (ROOT / area).is_file()
                                                else (ROOT / area).rglob("*")) if p.is_file()]
    return [p for p in paths if p.exists() and not str(p.relative_to(ROOT)).startswith(OUTPUTS)]


def test_no_reference_to_notes_outside_the_project_or_to_issue_numbers():
    found = []
    for path in project_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary fixtures
        for number, line in enumerate(text.split("\n"), 1):
            if INTERNAL.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert not found, "cite Xen or spec/ and docs/ instead:\n" + "\n".join(found)


def test_the_check_would_find_one():
    assert INTERNAL.search("see the legacy " + "fact" + " sheet \u00a710")
    assert INTERNAL.search("(" + "iss" + "ue 3)") and INTERNAL.search("fact_" + "sheet_offsets")
    assert not INTERNAL.search("xen-project/xen tools/libxc/xc_domain_save.c, spec/legacy.md")
