"""Run the shell examples of the documentation, so they cannot drift from what xcformat prints.

Each page's examples run in order in one fresh directory, with this environment's ``xcformat``
and ``python`` first on PATH; every command must exit 0 and print what the page shows.  A page
whose ``xcformat-requires`` names something this build lacks is an expected failure — strict, so
when the feature lands and the examples pass, the test says so and the page's status is current
(the docs print the same requirement check).
"""

import doctest
import os
import subprocess
import sys
from pathlib import Path

import pytest

from xcformat.refdoc import examples, features

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = examples.pages(DOCS)
CHECKER = doctest.OutputChecker()
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def run_examples(page: Path, workdir: Path) -> None:
    """Run every example of ``page`` in ``workdir``; fail on the first that misbehaves."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "COLUMNS": "100", "PYTHONHASHSEED": "0", "NO_COLOR": "1"}
    for example in examples.examples(page.read_text(encoding="utf-8")):
        result = subprocess.run(["bash", "-c", example.command], cwd=workdir, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                timeout=120)
        where = f"{page}:{example.line}: $ {example.command}"
        assert result.returncode == 0, f"{where}\nexit status {result.returncode}\n{result.stdout}"
        want = example.expected + "\n" if example.expected else ""
        if not CHECKER.check_output(want, result.stdout, FLAGS):
            pytest.fail(f"{where}\n" + CHECKER.output_difference(
                doctest.Example(example.command, want), result.stdout, FLAGS))


def test_every_page_with_examples_declares_what_they_need():
    assert PAGES, "the guides have console examples"
    for page in PAGES:
        assert examples.requirements(page.read_text(encoding="utf-8")), \
            f"{page}: add `.. xcformat-requires::` naming what the examples need"


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_documented_examples_print_what_the_page_shows(page, tmp_path, request):
    missing = features.missing(examples.requirements(page.read_text(encoding="utf-8")))
    if missing:
        request.applymarker(pytest.mark.xfail(
            strict=True, reason=f"this build lacks {', '.join(missing)}"))
    run_examples(page, tmp_path)


# -- the runner itself ----------------------------------------------------------------------------
SAMPLE = """\
Title
=====

.. xcformat-requires:: command:map module:json

.. code-block:: console

   $ printf 'a\\nb\\n'
   a
   b
   $ cat > f.txt <<'EOF'
   > one
   >
   > two three
   > EOF
   $ wc -l f.txt
   3 f.txt
   $ echo "some long line"
   some ... line

.. code-block:: python

   print("not run")

Text after.
"""


def test_examples_are_parsed_from_console_blocks_only_with_continuations():
    found = examples.examples(SAMPLE)
    assert [e.command for e in found] == ["printf 'a\\nb\\n'",
                                          "cat > f.txt <<'EOF'\none\n\ntwo three\nEOF",
                                          "wc -l f.txt", 'echo "some long line"']
    assert found[0].expected == "a\nb" and found[1].expected == ""
    assert found[0].line == 8
    assert examples.requirements(SAMPLE) == ["command:map", "module:json"]
    assert features.missing(examples.requirements(SAMPLE)) == []
    assert features.missing(["command:no-such", "format:no-such", "module:no_such_mod"]) == \
        ["command:no-such", "format:no-such", "module:no_such_mod"]


def test_runner_passes_matching_output_and_fails_on_a_difference_or_an_exit_status(tmp_path):
    page = tmp_path / "page.rst"
    page.write_text(SAMPLE)
    work = tmp_path / "work"
    work.mkdir()
    run_examples(page, work)
    assert (work / "f.txt").read_text() == "one\n\ntwo three\n"

    page.write_text(SAMPLE.replace("   3 f.txt", "   4 f.txt"))
    with pytest.raises(pytest.fail.Exception, match="wc -l f.txt"):
        run_examples(page, work)
    page.write_text(SAMPLE.replace("$ wc -l f.txt", "$ wc -l f.txt; exit 3"))
    with pytest.raises(AssertionError, match="exit status 3"):
        run_examples(page, work)
