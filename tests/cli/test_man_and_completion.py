"""The manual page is built from the guide, and the shell completion from the parsers."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from xcformat.cli import COMMANDS, build_parser, subcommand

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "guide"


def every_option() -> set[str]:
    parser = build_parser()
    return {flag for name in COMMANDS for action in subcommand(parser, name)._actions
            for flag in action.option_strings}


def test_every_option_the_guide_names_is_one_the_parsers_take():
    known = every_option()
    for page in GUIDE.glob("*.rst"):
        named = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", page.read_text()))
        assert named - known == set(), page.name


@pytest.fixture(scope="module")
def man_page(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("man")
    done = subprocess.run([sys.executable, "-m", "sphinx", "-q", "-W", "-b", "man",
                           str(ROOT / "docs"), str(out)], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    return out / "xcformat.1"


def test_the_man_page_holds_every_command_and_its_options(man_page):
    text = man_page.read_text()
    assert text.startswith("'\\\" t") and '.TH "XCFORMAT" "1"' in text
    for name in COMMANDS:
        assert f"usage: xcformat {name}" in text.replace("\\-", "-"), name
    assert "SYNOPSIS" in text
    if shutil.which("man"):
        shown = subprocess.run(["man", "-l", str(man_page)], capture_output=True, text=True,
                               env={"MANWIDTH": "100", "PATH": "/usr/bin:/bin"}, timeout=60)
        assert shown.returncode == 0 and "XCFORMAT(1)" in shown.stdout
        assert "--no-progress" in shown.stdout.replace("\u2010", "-")


def bash_complete(script: Path, *words: str) -> list[str]:
    line = " ".join(words)
    program = (f"source {script}; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; "
               f"COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}; _shtab_xcformat; "
               'printf "%s\\n" "${COMPREPLY[@]}"')
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.skipif(not shutil.which("bash"), reason="no bash")
def test_bash_completes_commands_options_and_choices(tmp_path):
    script = tmp_path / "xcformat.bash"
    done = subprocess.run([sys.executable, "-m", "xcformat", "completion", "bash"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    script.write_text(done.stdout)
    assert bash_complete(script, "xcformat", "va") == ["validate"]
    assert {"--at", "--json", "--quiet", "--svg"} <= set(bash_complete(script, "xcformat", "map",
                                                                       "--"))
    assert bash_complete(script, "xcformat", "info", "--io", "d") == ["direct"]


def test_zsh_completion_is_generated_too():
    done = subprocess.run([sys.executable, "-m", "xcformat", "completion", "zsh"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("#compdef xcformat")
    assert "--no-progress" in done.stdout
